"""The one normalization of email addresses: sign-up, login, password reset, email
verification, administration and the CLI all look accounts up through it.

Two spellings of one address must give one account, and the string an account was
registered with must log in: `normalize_email` maps every spelling to one stored form.
"""

import unicodedata
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

# RFC 5321 section 4.5.3.1.3: a path holds at most 256 octets, the address 254 of them.
# The user table's column is wider (320), so every normalized address fits.
MAX_EMAIL_LENGTH = 320


class InvalidEmailError(ValueError):
    """Not an address an account can have (the message says why)."""


def normalize_email(address: str) -> str:
    """The stored form of an email address: `local@domain`, str, at most 254 characters.

    Surrounding white space dropped, compatibility forms composed (NFKC: full-width
    letters are letters), the domain as IDNA 2008 / UTS 46 maps it (an `xn--` label and
    its Unicode form are one domain), the local part case-folded (`User` and `user` are
    one mailbox name). The result is its own normal form: the tests check it over
    generated addresses and their spellings.

    Raises InvalidEmailError (a ValueError) for a string that is not an address
    (RFC 5322 addr-spec as email-validator checks it: no display name, no quoted local
    part, no IP literal, no special-use domain, at most RFC 5321's lengths).
    """
    # Compatibility forms first, so that RFC 5321's length limits (in octets) apply to
    # the address, not to a full-width spelling of it.
    composed = unicodedata.normalize("NFKC", address.strip())
    try:
        # No DNS lookup: sign-up must not wait on the network, nor depend on it.
        validated = validate_email(composed, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmailError(f"value is not a valid email address: {exc}") from exc
    # Case folding after NFKC, then NFKC again: Unicode's NFKC_Casefold (Unicode Standard
    # section 3.13; RFC 8265's case mapping), as a folded letter may decompose.
    local = unicodedata.normalize("NFKC", validated.local_part.casefold())
    return f"{local}@{validated.domain}"


Email = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra={"format": "email"}),
    AfterValidator(normalize_email),
]
"""A request body's email field: validated, then stored and compared as normalized."""
