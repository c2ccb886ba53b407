"""What the sign-in routes share: the caller's address (for the throttle) and the app's
bound on password checks doing database work at once."""

import asyncio
from typing import Annotated

from fastapi import Depends, Request


def client_address(request: Request) -> str:
    """The caller's IP address, for throttling. From a peer that FORWARDED_ALLOW_IPS (or
    `serve --forwarded-allow-ips`) trusts, uvicorn has made it the client's that the
    proxy wrote in `X-Forwarded-For`; from any other peer, the peer's own."""
    return request.client.host if request.client else "unknown"


async def login_gate(request: Request) -> asyncio.Semaphore:
    """The app's bound on logins (and other password checks) doing database work at once:
    a burst of them queues here, in memory, instead of in the pool or on the throttle's
    rows, and other requests keep their connections (main.py sizes it)."""
    gate: asyncio.Semaphore = request.app.state.login_gate
    return gate


LoginGateDep = Annotated[asyncio.Semaphore, Depends(login_gate)]
