"""The one normalization of email addresses: sign-up, login, password reset, email
verification, administration and the CLI all look accounts up through it.

Two spellings of one address must give one account, and the string an account was
registered with must log in: `normalize_email` maps every spelling to one stored form.
"""

import unicodedata
from typing import Annotated

from email_validator import EmailNotValidError, ValidatedEmail, validate_email
from pydantic import AfterValidator, Field

# RFC 5321 section 4.5.3.1.3: a path holds at most 256 octets, the address 254 of them.
# The user table's column is wider (320), so every normalized address fits.
MAX_EMAIL_LENGTH = 320


class InvalidEmailError(ValueError):
    """Not an address an account can have (the message says why)."""


def _validated(address: str) -> ValidatedEmail:
    try:
        # No DNS lookup: sign-up must not wait on the network, nor depend on it. Spaces
        # around an address are a slip of the keyboard, not part of it.
        return validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmailError(f"value is not a valid email address: {exc}") from exc


def normalize_email(address: str) -> str:
    """The stored form of an email address: `local@domain`, str, at most 254 characters.

    One mailbox, however it is spelled, and no other: the domain as IDNA 2008 / UTS 46
    maps it (an `xn--` label, its Unicode form and its full-width spelling are one
    domain; RFC 5890), the local part in Unicode's composed form (a decomposed accent is
    its composed letter: canonical equivalence, NFC) and lower case (as the service has
    always compared addresses; every mail provider of note does too). Nothing else is
    folded: a compatibility character (a full-width letter, a ligature) or an `ß` in
    the local part names another mailbox (RFC 6531), and mail must reach the one the
    user typed. The result is its own normal form: tests check it over generated
    addresses and their spellings.

    Raises InvalidEmailError (a ValueError) for a string that is not an address
    (RFC 5322 addr-spec as email-validator checks it: no display name, no quoted local
    part, no IP literal, no special-use domain, at most RFC 5321's lengths).
    """
    validated = _validated(address)
    local = unicodedata.normalize("NFC", validated.local_part.lower())
    return f"{local}@{validated.domain}"


def deliverable_address(address: str) -> str:
    """`address` (a stored one) as mail servers take it: its domain in ASCII.

    The domain in IDNA's ASCII form (`xn--` labels, RFC 5890), so that a server without
    SMTPUTF8 (RFC 6531) delivers it too. A local part that is not ASCII still needs
    SMTPUTF8: it is kept as it is. Raises InvalidEmailError for a string that is not an
    address.
    """
    validated = _validated(address)
    return validated.ascii_email or f"{validated.local_part}@{validated.ascii_domain}"


Email = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra={"format": "email"}),
    AfterValidator(normalize_email),
]
"""A request body's email field: validated, then stored and compared as normalized."""
