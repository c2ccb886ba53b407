"""Request and response bodies of the user routes. No body ever carries a password hash."""

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from ..auth.scopes import SCOPES
from ..web.schemas import RequestBody
from ..web.text import NoNul
from .emails import Email

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase, short enough that hashing it costs nothing extra.
MAX_PASSWORD_LENGTH = 128

# Far beyond any real password, and it bounds what one check makes the hashing read.
MAX_PRESENTED_PASSWORD_LENGTH = 1024

Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        json_schema_extra={"format": "password"},
    ),
    NoNul,
]
# A password presented to be checked (login, confirming a change): any length a password
# once had, so an account made under an older policy still gets in.
PresentedPassword = Annotated[
    str,
    Field(max_length=MAX_PRESENTED_PASSWORD_LENGTH, json_schema_extra={"format": "password"}),
    NoNul,
]
FullName = Annotated[str, Field(min_length=1, max_length=200), NoNul]


def known_scopes(scopes: list[str]) -> list[str]:
    """`scopes` deduplicated and sorted; ValueError (a 422) naming any that do not exist."""
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    return sorted(set(scopes))


# The schema lists the scopes, so that clients (and fuzzers) know which exist.
ScopeName = Annotated[str, Field(json_schema_extra={"enum": sorted(SCOPES)})]
Scopes = Annotated[list[ScopeName], AfterValidator(known_scopes)]


class UserCreate(RequestBody):
    """A new account; its scopes and state are the defaults (an administrator changes
    them), so sending them is refused like any unknown field."""

    email: Email
    password: Password
    full_name: FullName | None = None

    @model_validator(mode="after")
    def password_is_not_the_email(self) -> Self:
        """Refuse (422) a password that is the email address, in any case."""
        if self.password.strip().lower() == self.email:
            raise ValueError("the password must not be the email address")
        return self


class UserUpdate(RequestBody):
    """An administrator's change to an account; absent or null fields stay as they are."""

    full_name: FullName | None = None
    scopes: Scopes | None = None
    is_active: bool | None = None
    password: Password | None = None


class ProfileUpdate(RequestBody):
    """The caller's change to their own account; absent fields stay as they are.

    A new email needs `current_password`: whoever holds a stolen access token must not
    be able to move the account (and its password resets) to an address of theirs.
    """

    # The schema says so too (JSON Schema 2020-12 `dependentRequired`, OpenAPI 3.1).
    model_config = ConfigDict(
        json_schema_extra={"dependentRequired": {"email": ["current_password"]}}
    )

    full_name: FullName | None = Field(default=None, description="null clears the name")
    email: Email | SkipJsonSchema[None] = Field(
        default=None, description="a new address, unverified until its link is followed"
    )
    current_password: PresentedPassword | SkipJsonSchema[None] = None

    @field_validator("email", "current_password")
    @classmethod
    def not_null(cls, value: str | None) -> str:
        """Refuse (422) an explicit null for `email` or `current_password`."""
        # Only a given value reaches here: absent is fine, null is not (the schema shows
        # no null either).
        if value is None:
            raise ValueError("must not be null")
        return value

    @model_validator(mode="after")
    def email_change_needs_the_password(self) -> Self:
        """Refuse (422) a new `email` without `current_password`."""
        if self.email is not None and self.current_password is None:
            raise ValueError("current_password is needed to change the email")
        return self


class PasswordChange(RequestBody):
    current_password: PresentedPassword
    new_password: Password


class AccountDeletion(RequestBody):
    password: PresentedPassword


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    scopes: list[str]
    is_active: bool
    email_verified: bool
    created_at: datetime
