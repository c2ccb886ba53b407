"""Cross-origin requests from the browser origins listed in CORS_ORIGINS.

The CORS protocol of the Fetch standard (https://fetch.spec.whatwg.org/#http-cors-protocol),
by Starlette's CORSMiddleware (which answers the preflights), with three differences:

- it wraps every middleware that answers by itself (the guard's 413), and the 500 that
  Starlette answers outside every middleware takes the same headers from the policy
  (web/errors.py): browser code reads every error instead of a CORS failure;
- only an allowed origin gets CORS headers (Starlette sends the exposed headers to any);
- its preflight answers carry the security headers, as every other response does.
"""

from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Send

from .guard import API_HEADERS

# Every method of the API (a browser preflights even HEAD when it sends Authorization).
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# What browser code may read beyond the CORS-safelisted headers (Content-Type,
# Content-Length, Cache-Control, ...): every other header the API sends for clients, i.e.
# the request id to quote, how long to wait after a 429 or 503, the challenge of a 401 or
# 403 and the methods of a 405. A header of yours that browser code reads goes here too.
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After", "WWW-Authenticate", "Allow")


@dataclass(frozen=True)
class CorsPolicy:
    """The origins allowed (`*`: any) and whether browsers may send credentials."""

    origins: frozenset[str]
    allow_credentials: bool

    def allows(self, origin: str) -> bool:
        return origin in self.origins or "*" in self.origins

    def response_headers(self, request_headers: Headers) -> dict[str, str]:
        """The CORS headers of a response (not a preflight) to a request with these
        headers: none unless its `Origin` is allowed, which is echoed (never `*`)."""
        origin = request_headers.get("origin")
        if origin is None or not self.allows(origin):
            return {}
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
        }
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers


class CorsMiddleware(CORSMiddleware):
    def __init__(self, app: ASGIApp, policy: CorsPolicy) -> None:
        super().__init__(
            app,
            allow_origins=sorted(policy.origins),
            allow_credentials=policy.allow_credentials,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
        )
        self.policy = policy

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            headers = MutableHeaders(scope=message)
            headers.update(self.policy.response_headers(request_headers))
            # Caches keep apart the answers to different origins (and to none).
            headers.add_vary_header("Origin")
        await send(message)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        response.headers.update(API_HEADERS)
        return response
