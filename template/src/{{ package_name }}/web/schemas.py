"""The one rule for JSON request bodies."""

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """Base of every JSON request body: a field the schema does not name is refused (422,
    `extra_forbidden`), never silently dropped, and values keep their JSON types (strict:
    no "1" for 1, no 0 for false). The OpenAPI schema says so (`additionalProperties:
    false`), so generated clients and fuzzers know it too.

    The token endpoint's form is the exception: RFC 6749 section 3.2 makes the server
    ignore parameters it does not know."""

    model_config = ConfigDict(extra="forbid", strict=True)
