from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..users.emails import MAX_EMAIL_LENGTH, Email
from ..users.schemas import Password, PresentedPassword
from ..web.schemas import RequestBody
from ..web.text import NoNul


class LoginForm(BaseModel):
    """The OAuth2 password grant's form (RFC 6749 section 4.3.2); the username is the email.
    Not a RequestBody: parameters it does not know are ignored (RFC 6749 section 3.2)."""

    grant_type: Literal["password"] | None = None
    # As typed: normalized for the lookup, so a bad one is a failed login, not a 422
    # that would tell a guesser which spellings are addresses.
    username: Annotated[str, Field(max_length=MAX_EMAIL_LENGTH), NoNul]
    password: PresentedPassword
    scope: str = Field(default="", description="Space-separated scopes to grant")
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def scopes(self) -> list[str]:
        """The requested scopes: `scope` split on spaces (RFC 6749 section 3.3)."""
        return self.scope.split()


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")
    scope: str = Field(description="The granted scopes, space-separated")


class RefreshRequest(RequestBody):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512), NoNul]


class EmailRequest(RequestBody):
    """Ask for a password reset link, or for a new email verification link."""

    email: Email


class MailRequested(BaseModel):
    """The answer to a mail request: the same whether or not the address has an account."""

    detail: str


class PasswordReset(RequestBody):
    """Set a new password with the token a reset mail carried."""

    token: Annotated[str, Field(min_length=1, max_length=512), NoNul]
    new_password: Password


class EmailVerification(RequestBody):
    """Prove an address with the token a verification mail carried."""

    token: Annotated[str, Field(min_length=1, max_length=512), NoNul]
