"""Refresh tokens: stored as digests, single-use, grouped in families.

A login starts a family; each refresh spends one token and adds the next one to the
family. A spent token presented again means it was stolen or replayed, so the whole
family is revoked and its holder, honest or not, must log in again.
"""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ..db.types import UTCDateTime, utc_now


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    family_id: uuid.UUID = Field(index=True)
    token_digest: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AccountToken(SQLModel, table=True):
    """A single-use token mailed to an account's address: a password reset, or the proof
    that the address is the account holder's. Stored as a digest, like refresh tokens:
    the table alone lets nobody reset a password.
    """

    __tablename__ = "account_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    # "password_reset" or "email_verification" (accounts/account_tokens.py).
    purpose: str = Field(max_length=32)
    token_digest: str = Field(max_length=64, unique=True)
    # The address the token was mailed to: it verifies that address and no later one.
    email: str = Field(max_length=320)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class LoginThrottle(SQLModel, table=True):
    """Login attempts counted per key (an account's email or a client address, digested)
    in a fixed window. In the database, so every worker and instance counts together.

    Times are Unix seconds (float): the throttle's upsert compares them in SQL, the same
    way on every database.
    """

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    attempts: int
    window_started: float = Field(index=True)
