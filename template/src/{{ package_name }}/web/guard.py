"""Security headers on every response, and a size limit on request bodies (413).

One pure ASGI middleware for both, as it runs on every request: the header lists are
built once, and a body is counted only when the request did not declare its size.
"""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The API serves JSON only: no page of it may load, run or frame anything.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc, served by the service itself (fastapi-offline): their scripts and
# styles, FastAPI's inline start-up script ('unsafe-inline': it differs per app, so no
# hash fits it), ReDoc's inline styles and its web worker (blob:), the schema fetched
# from 'self', and icons as data: URIs. No other host: ReDoc's vendor logo stays out.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
# The account pages (accounts/pages.py): their own inline styles, forms posted to themselves.
PAGES_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGES_PATHS = frozenset({"/account/reset-password", "/account/verify-email"})


def security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        # Browsers ignore it over plain HTTP; behind TLS it keeps them on HTTPS.
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    }


def raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


API_HEADERS = security_headers(API_CSP)
DOCS_HEADERS = security_headers(DOCS_CSP)
_RAW_API_HEADERS = raw_headers(API_HEADERS)
# The few paths with headers of their own; every other path gets the API's.
_RAW_HEADERS_OF_PATH = {
    **dict.fromkeys(DOCS_PATHS, raw_headers(DOCS_HEADERS)),
    **dict.fromkeys(PAGES_PATHS, raw_headers(security_headers(PAGES_CSP))),
}


def body_too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"Request body too large: at most {limit} bytes")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class GuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _RAW_HEADERS_OF_PATH.get(scope["path"], _RAW_API_HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            # Refused before a byte of it is read.
            await self._refuse(send_with_headers)
            return
        if declared is None:
            receive = self._counting(receive)
        await self.app(scope, receive, send_with_headers)

    def _counting(self, receive: Receive) -> Receive:
        """A body of undeclared size (chunked) is counted as it arrives."""
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                # Raised inside the route's body parsing: answered as a 413 like any
                # HTTPException.
                raise body_too_large(self.max_body_bytes)
            return message

        return counting_receive

    async def _refuse(self, send: Send) -> None:
        error = body_too_large(self.max_body_bytes)
        body = json.dumps({"detail": error.detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
