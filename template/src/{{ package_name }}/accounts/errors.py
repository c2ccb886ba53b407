"""OAuth2 token endpoint errors (RFC 6749 section 5.2); feature_errors.py answers them in
the API's `{"detail": ...}` shape."""

from http import HTTPStatus


class OAuth2Error(Exception):
    """An error of the token endpoint or of a refresh: its RFC 6749 section 5.2 `error`
    code, a `description` for humans, and the HTTP status to answer with."""

    def __init__(self, error: str, description: str, status_code: int) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code


def invalid_grant(description: str) -> OAuth2Error:
    """401 `invalid_grant`: the credentials or the refresh token are not good.

    RFC 6749 section 5.2 answers 400; this API answers 401, with `WWW-Authenticate`.
    """
    return OAuth2Error("invalid_grant", description, HTTPStatus.UNAUTHORIZED)


def invalid_scope(description: str) -> OAuth2Error:
    """400 `invalid_scope`: a requested scope does not exist or is not the account's."""
    return OAuth2Error("invalid_scope", description, HTTPStatus.BAD_REQUEST)
