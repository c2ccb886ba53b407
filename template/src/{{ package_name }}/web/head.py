"""HEAD answered on every path that answers GET: the same status and headers, no body.

RFC 9110 section 9.3.2: a server answers HEAD as it would GET, without content, and
uptime monitors and load balancers probe with it. FastAPI registers `@router.get` routes
for GET only (they answer HEAD with 405, while the 405's `Allow` lists HEAD); Starlette's
own routes and mounts take HEAD. This pure ASGI middleware runs a HEAD as a GET and drops
the body, so every GET route gets HEAD, a team's later ones included, without a second
route per path (the OpenAPI document keeps one operation per GET, and the router tries
no more routes per request). The headers stay the GET's, `Content-Length` included.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                # The last part of the body, emptied: it still ends the response.
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the server reads the method while answering (uvicorn sends no body to a
        # HEAD, and logs it as one).
        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, send_without_body)
        finally:
            # What routing added (the route matched) goes back to the middlewares outside,
            # as it would without this one: metrics label a HEAD by its route.
            scope.update({**as_get, "method": "HEAD"})
