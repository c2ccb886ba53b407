"""Password hashing (passlib API from `libpass`), access tokens (PyJWT), refresh tokens.

Hashing is slow by design, so it runs in worker threads of its own: the event loop
keeps serving other requests while a login is being checked.
"""

import asyncio
import functools
import hashlib
import os
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from passlib.context import CryptContext

from ..db.types import utc_now
from ..settings import Settings

# argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane); bcrypt hashes
# from an older system still verify, and are replaced by argon2id on the next login.
PASSWORDS = CryptContext(
    schemes=["argon2", "bcrypt"],
    deprecated=["bcrypt"],
    argon2__type="ID",
    argon2__memory_cost=19 * 1024,
    argon2__rounds=2,
    argon2__parallelism=1,
)

# An argon2id hash holds 19 MiB and a core for ~25 ms. Its own few threads, one per
# core: more at once only queue in memory, and each extra thread's malloc arena keeps
# its 19 MiB (measured: 830 MB peak RSS for 2 workers on the shared pool, 40 threads).
_HASHING = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="hashing")


async def _off_the_loop[**P, R](work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    return await asyncio.get_running_loop().run_in_executor(
        _HASHING, functools.partial(work, *args, **kwargs)
    )


JWT_ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "nbf", "iss", "aud", "jti", "scope"]


async def hash_password(password: str) -> str:
    hashed: str = await _off_the_loop(PASSWORDS.hash, password)
    return hashed


@dataclass(frozen=True)
class PasswordCheck:
    valid: bool
    # Set when the stored hash uses an old scheme or old parameters.
    new_hash: str | None = None


async def verify_password(password: str, hashed: str) -> PasswordCheck:
    valid, new_hash = await _off_the_loop(PASSWORDS.verify_and_update, password, hashed)
    return PasswordCheck(valid=bool(valid), new_hash=new_hash)


# Keyed by the context, so that a hash made at other parameters (the tests' cheap
# ones) is never checked in place of one at the context's own.
@lru_cache(maxsize=1)
def _dummy_hash(context: CryptContext) -> str:
    hashed: str = context.hash(secrets.token_urlsafe(16))
    return hashed


async def waste_password_check(password: str) -> None:
    """Do a login's hashing work for an unknown account: timing reveals no account."""
    dummy = await _off_the_loop(_dummy_hash, PASSWORDS)
    await _off_the_loop(PASSWORDS.verify, password, dummy)


# A private claim (RFC 7519 section 4.3): the account's credentials version when the
# token was issued. Tokens from before it existed lack it and count as version 0.
CREDENTIALS_VERSION_CLAIM = "cv"


@dataclass(frozen=True)
class AccessClaims:
    subject: uuid.UUID
    scopes: frozenset[str]
    token_id: str
    expires_at: datetime
    credentials_version: int


def create_access_token(
    settings: Settings,
    subject: uuid.UUID,
    scopes: list[str],
    credentials_version: int,
    now: datetime | None = None,
) -> str:
    """A signed JWT (RFC 7519, HS256) for `subject` with the granted `scopes`, valid for
    ACCESS_TOKEN_MINUTES from `now`; `credentials_version` is the account's at issue."""
    issued_at = now or utc_now()
    claims: dict[str, Any] = {
        "sub": str(subject),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + timedelta(minutes=settings.access_token_minutes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(scopes),
        CREDENTIALS_VERSION_CLAIM: credentials_version,
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=JWT_ALGORITHM)


def decode_access_token(
    settings: Settings, token: str, now: datetime | None = None
) -> AccessClaims:
    """The claims of a token that is ours, current and complete.

    `iat`, `nbf` and `exp` are compared with JWT_LEEWAY_SECONDS of tolerance (RFC 7519
    sections 4.1.4-4.1.6 allow "some small leeway"), so a token minted by an instance
    whose clock runs a little ahead still works. Raises jwt.InvalidTokenError otherwise.
    """
    leeway = settings.jwt_leeway_seconds
    claims = _verified_claims(
        token,
        settings.secret_key.get_secret_value(),
        settings.jwt_audience,
        settings.jwt_issuer,
        leeway,
    )
    # A token verified earlier is remembered, with its expiry: checked again on every use,
    # with the same leeway as the first check.
    if claims.expires_at + timedelta(seconds=leeway) <= (now or utc_now()):
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims


@lru_cache(maxsize=4096)
def _verified_claims(
    token: str, secret: str, audience: str, issuer: str, leeway: float
) -> AccessClaims:
    """A client sends the same token with every request for its whole lifetime: check its
    signature and claims once (measured: an eighth of the CPU time of a read). Only valid
    tokens are cached (an exception is not), so garbage cannot fill the cache."""
    claims = jwt.decode(
        token,
        secret,
        # Pinned: the token's own "alg" header never chooses (no "none", no confusion).
        algorithms=[JWT_ALGORITHM],
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        options={"require": REQUIRED_CLAIMS},
    )
    try:
        subject = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise jwt.InvalidTokenError("sub is not a user id") from exc
    version = claims.get(CREDENTIALS_VERSION_CLAIM, 0)
    if type(version) is not int:
        raise jwt.InvalidTokenError(f"{CREDENTIALS_VERSION_CLAIM} is not an integer")
    return AccessClaims(
        subject=subject,
        scopes=frozenset(str(claims["scope"]).split()),
        token_id=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=utc_now().tzinfo),
        credentials_version=version,
    )


def new_opaque_token() -> str:
    """A random bearer string (256 bits, URL-safe base64): refresh, reset and
    verification tokens."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of an opaque token: 64 hex characters (SHA-256).

    The tokens are random (256 bits), so a fast digest is enough: no guess can be
    checked against it faster than against the service itself."""
    return hashlib.sha256(token.encode()).hexdigest()
