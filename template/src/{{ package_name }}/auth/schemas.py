from typing import Literal

from pydantic import BaseModel, Field


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")
    scope: str = Field(description="The granted scopes, space-separated")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)
