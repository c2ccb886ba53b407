import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from ..web.schemas import RequestBody
from ..web.text import NoNul

Title = Annotated[str, Field(min_length=1, max_length=200), NoNul]
Description = Annotated[str, Field(max_length=2000), NoNul]


class ItemCreate(RequestBody):
    title: Title
    description: Description | None = None


class ItemUpdate(RequestBody):
    """Absent fields stay as they are; a null description clears it."""

    # Optional, never null (the schema shows no null either).
    title: Title | SkipJsonSchema[None] = None
    description: Description | None = None

    @field_validator("title")
    @classmethod
    def title_is_not_null(cls, title: str | None) -> str:
        # Only a given value reaches here: absent is fine, null is not.
        if title is None:
            raise ValueError("title must not be null")
        return title


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
