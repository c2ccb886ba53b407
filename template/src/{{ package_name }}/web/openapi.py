"""What the OpenAPI document says of each operation, for its readers and for the clients
generated from it.

Client generators name their methods after the operation ids: FastAPI's default ids
(`login_api_v1_auth_token_post`) make poor method names, so an operation's id is its
route function's name (`login`, `list_items`), which the tests keep unique
(tests/unit/test_openapi_document.py). Route docstrings follow PEP 257
(https://peps.python.org/pep-0257/): the summary line becomes the operation's summary,
the rest its description.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

OpenAPIDocument = dict[str, Any]


def operation_id(route: APIRoute) -> str:
    """The route's operationId: its name, which is its function's unless the route says
    `name=`. FastAPI's `generate_unique_id_function`; a route's own `operation_id=` wins."""
    return route.name


def summarize(document: OpenAPIDocument) -> OpenAPIDocument:
    """Give each operation without a summary of its own its description's summary line.

    FastAPI makes an operation's description from its route function's docstring (or
    `description=`) and, without `summary=`, its summary from its name ("List Items").
    A description that starts with a summary line (PEP 257: one line, then a blank line
    or the end) gives that line as the summary, and keeps the rest. In place, and
    idempotent: the document is FastAPI's cached one.
    """
    for operations in document["paths"].values():
        for operation in operations.values():
            default_summary = operation["operationId"].replace("_", " ").title()
            summary, _, rest = operation.get("description", "").partition("\n")
            own_summary = operation["summary"] != default_summary
            if own_summary or not summary or (rest and not rest.startswith("\n")):
                continue
            operation["summary"] = summary
            if rest.strip():
                operation["description"] = rest.strip()
            else:
                del operation["description"]
    return document


def summarize_operations(app: FastAPI) -> None:
    """Have `app.openapi()` (and so `/openapi.json`) answer with summarized operations.

    The way FastAPI documents to change its document:
    https://fastapi.tiangolo.com/how-to/extending-openapi/
    """
    build: Callable[[], OpenAPIDocument] = app.openapi

    def openapi() -> OpenAPIDocument:
        return summarize(build())

    app.openapi = openapi  # type: ignore[method-assign]
