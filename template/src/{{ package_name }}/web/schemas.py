"""The one rule for JSON request bodies."""

import re
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError


class RequestBody(BaseModel):
    """Base of every JSON request body: a field the schema does not name is refused (422,
    `extra_forbidden`), never silently dropped, and values keep their JSON types (strict:
    no "1" for 1, no 0 for false). The OpenAPI schema says so (`additionalProperties:
    false`), so generated clients and fuzzers know it too.

    The token endpoint's form is the exception: RFC 6749 section 3.2 makes the server
    ignore parameters it does not know."""

    model_config = ConfigDict(extra="forbid", strict=True)


def json_string(pattern: str) -> BeforeValidator:
    """Annotated metadata: the value must be a string matching `pattern` whole, else a
    422 (`string_type`, `string_pattern_mismatch`); then the field's type parses it."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "Input should be a valid string")
        if not compiled.fullmatch(value):
            raise PydanticCustomError(
                "string_pattern_mismatch",
                "String should match pattern '{pattern}'",
                {"pattern": pattern},
            )
        return value

    return BeforeValidator(check)


def json_integer(value: object) -> object:
    """An integral JSON number as an int (7.0 is 7); any other value as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A field whose type JSON lacks (a date, a time, a UUID, an enum) comes as a string, which
# strict mode refuses outside JSON: such a field is lax, and takes only the strings its
# schema's format names (RFC 3339, RFC 9562), never a number read as a timestamp:
#     due: Annotated[date, Strict(False), JSON_DATE]
JSON_DATE = json_string(r"\d{4}-\d{2}-\d{2}")
JSON_DATETIME = json_string(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
JSON_UUID = json_string(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
JSON_STRING = json_string(r"(?s).*")  # an enum's value: the enum checks it
# JSON has one number type, and JSON Schema's `integer` is any number without a fraction
# (7.0 included), which strict mode refuses; strings and booleans stay refused:
#     count: Annotated[int, Field(ge=0), JSON_INTEGER]
JSON_INTEGER = BeforeValidator(json_integer)


def in_utc(value: datetime) -> datetime:
    """The aware time in UTC, as the database keeps it; a 422 for a time UTC cannot hold
    (0001-01-01T00:30:00+01:00 is before year 1 there)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_utc_range", "Input is out of UTC's range") from None


# A time as the database keeps it, in UTC: what a request sent is what a read returns.
IN_UTC = AfterValidator(in_utc)


def fixed_point(scale: int) -> AfterValidator:
    """Annotated metadata: a decimal with `scale` places, as a NUMERIC(p, scale) column
    keeps it ("12.5" is 12.50; "-0" is 0.00), so a create answers what a read will."""
    exponent = Decimal(1).scaleb(-scale)

    def fix(value: Decimal) -> Decimal:
        return (value + 0).quantize(exponent)

    return AfterValidator(fix)
