"""Who is calling, as the service layer sees it: no HTTP here, so services can take it."""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Principal:
    """Who is calling: the access token's subject (`user_id`), and the scopes it may use
    now: those the token grants (RFC 6749 section 3.3) that its account still holds."""

    user_id: UUID
    scopes: frozenset[str]
