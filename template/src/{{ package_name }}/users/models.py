"""The user table. Emails are stored lowercased, so the unique index is case-insensitive."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ..core.scopes import DEFAULT_USER_SCOPES
from ..core.types import UTCDateTime, utc_now


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    hashed_password: str = Field(max_length=255)
    full_name: str | None = Field(default=None, max_length=200)
    scopes: list[str] = Field(
        default_factory=lambda: sorted(DEFAULT_USER_SCOPES), sa_column=Column(JSON, nullable=False)
    )
    is_active: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
