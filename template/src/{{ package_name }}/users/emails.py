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


def _fold(text: str) -> str:
    # Unicode's NFKC_Casefold: compatibility forms (full-width letters, ligatures) and
    # case fold to one form (Unicode Standard, section 3.13; RFC 8265's case mapping).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _normalized_once(address: str) -> str:
    # Compatibility forms first, so that RFC 5321's length limits (in octets) apply to
    # the address, not to a full-width spelling of it. Spaces around an address are a
    # slip of the keyboard, not part of it.
    composed = unicodedata.normalize("NFKC", address.strip())
    try:
        # No DNS lookup: sign-up must not wait on the network, nor depend on it.
        validated = validate_email(composed, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmailError(f"value is not a valid email address: {exc}") from exc
    # The domain is already IDNA-mapped (UTS 46: xn-- labels decoded, full-width and
    # upper case mapped), as email-validator returns it; the local part is folded here.
    return f"{_fold(validated.local_part)}@{validated.domain}"


def normalize_email(address: str) -> str:
    """The stored form of an email address: `local@domain`, str, at most 254 characters.

    Surrounding white space dropped; the domain as IDNA 2008 / UTS 46 maps it (an `xn--`
    label and its Unicode form are one domain); the local part NFKC-casefolded (`User`,
    its full-width form and `user` are one mailbox name; a decomposed accent is its
    composed form).

    Raises InvalidEmailError (a ValueError) for a string that is not an address
    (RFC 5322 addr-spec as email-validator checks it: no display name, no quoted local
    part, no IP literal, no special-use domain), or whose folded form is not one.
    """
    normalized = _normalized_once(address)
    try:
        # Folding can make a valid local part invalid (U+00A8, a diaeresis, folds to a
        # space and a combining mark): refuse it rather than store a form that cannot
        # log in. (That a stored form is its own normal form, tests check.)
        _normalized_once(normalized)
    except InvalidEmailError as exc:
        raise InvalidEmailError(
            "value is not a valid email address: its normal form (NFKC) is not an address"
        ) from exc
    return normalized


Email = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra={"format": "email"}),
    AfterValidator(normalize_email),
]
"""A request body's email field: validated, then stored and compared as normalized."""
