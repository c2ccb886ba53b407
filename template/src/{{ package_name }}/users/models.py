"""The user table. Emails are stored normalized (`users/emails.py`), so the unique index
holds one account per address, however it is spelled."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ..auth.scopes import DEFAULT_USER_SCOPES
from ..db.types import UTCDateTime, utc_now


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    hashed_password: str = Field(max_length=255)
    full_name: str | None = Field(default=None, max_length=200)
    scopes: list[str] = Field(
        default_factory=lambda: sorted(DEFAULT_USER_SCOPES), sa_column=Column(JSON, nullable=False)
    )
    is_active: bool = Field(default=True)
    # Carried in access tokens (claim `cv`); a password change or reset increments it,
    # which ends every token issued before (users/revocation.py).
    credentials_version: int = Field(default=0)
    # Set when the owner of the address followed a verification or reset link.
    email_verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )

    @property
    def email_verified(self) -> bool:
        """Whether the owner of the address followed a verification or reset link."""
        return self.email_verified_at is not None
