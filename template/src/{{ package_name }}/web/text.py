"""What every text field of the API refuses: the NUL character.

PostgreSQL cannot store it in text (the driver's error would surface as a 500), and C
code reading the string stops at it. Refused at the edge, it is a clear 422 on every
database; the OpenAPI schema says so with a pattern, so clients and fuzzers know.

    Title = Annotated[str, Field(min_length=1, max_length=200), NoNul]
"""

from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

NUL_FREE_PATTERN = "^[^\\u0000]*$"


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


class _NoNul:
    """Annotated metadata: the check, after the field's own constraints, and the pattern."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(refuse_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = NUL_FREE_PATTERN
        return json_schema


NoNul = _NoNul()
