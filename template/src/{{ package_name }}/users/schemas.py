"""Request and response bodies of the user routes. No body ever carries a password hash."""

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from ..core.scopes import SCOPES
from ..core.text import NoNul

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase, short enough that hashing it costs nothing extra.
MAX_PASSWORD_LENGTH = 128

Password = Annotated[
    str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH), NoNul
]
FullName = Annotated[str, Field(min_length=1, max_length=200), NoNul]


def known_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    return sorted(set(scopes))


# The schema lists the scopes, so that clients (and fuzzers) know which exist.
ScopeName = Annotated[str, Field(json_schema_extra={"enum": sorted(SCOPES)})]
Scopes = Annotated[list[ScopeName], AfterValidator(known_scopes)]


def normalize_email(email: str) -> str:
    return email.strip().lower()


class UserCreate(BaseModel):
    # strict: JSON types as the schema says (no "1" for 1, no 0 for false).
    model_config = ConfigDict(strict=True)

    email: Annotated[EmailStr, AfterValidator(normalize_email)]
    password: Password
    full_name: FullName | None = None

    @model_validator(mode="after")
    def password_is_not_the_email(self) -> Self:
        if self.password.strip().lower() == self.email:
            raise ValueError("the password must not be the email address")
        return self


class UserUpdate(BaseModel):
    """An administrator's change to an account; absent or null fields stay as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)

    full_name: FullName | None = None
    scopes: Scopes | None = None
    is_active: bool | None = None
    password: Password | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    scopes: list[str]
    is_active: bool
    created_at: datetime
