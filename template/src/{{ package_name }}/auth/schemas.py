from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.text import NoNul

# The longest email the user table holds; longer cannot be an account.
MAX_USERNAME_LENGTH = 320
# Far beyond any real password, and it bounds what one login makes the hashing read.
MAX_LOGIN_PASSWORD_LENGTH = 1024


class LoginForm(BaseModel):
    """The OAuth2 password grant's form (RFC 6749 section 4.3.2); the username is the email."""

    grant_type: Literal["password"] | None = None
    username: Annotated[str, Field(max_length=MAX_USERNAME_LENGTH), NoNul]
    password: Annotated[
        str,
        Field(max_length=MAX_LOGIN_PASSWORD_LENGTH, json_schema_extra={"format": "password"}),
        NoNul,
    ]
    scope: str = Field(default="", description="Space-separated scopes to grant")
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")
    scope: str = Field(description="The granted scopes, space-separated")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    refresh_token: Annotated[str, Field(min_length=1, max_length=512), NoNul]
