"""Email addresses as people type them, and the other spellings of each: for property
tests of the one normalization (users/emails.py). A spelling names the same mailbox: a
full-width local part would not (RFC 6531), a full-width domain does (UTS 46)."""

import unicodedata
from collections.abc import Callable

import idna
from hypothesis import strategies as st
from hypothesis.provisional import domains

# Local parts as people type them: letters (some accented), digits, dots inside.
LOCAL_PART = st.from_regex(r"\A[a-zA-Z0-9àéèüöçñ]{1,20}(\.[a-zA-Z0-9éü]{1,10})?\Z")
# Short enough that every spelling stays within RFC 5321's 254 octets (a full-width
# letter takes three in UTF-8).
ADDRESSES = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL_PART, domains(max_length=60))
FULL_WIDTH_OFFSET = 0xFF01 - 0x21


def full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms (what some keyboards type)."""
    return "".join(
        chr(ord(char) + FULL_WIDTH_OFFSET) if char.isascii() and char.isalnum() else char
        for char in text
    )


def domain_as_idna(address: str) -> str:
    local, domain = address.strip().rsplit("@", 1)
    return f"{local}@{idna.encode(domain, uts46=True).decode()}"


SPELLINGS: dict[str, Callable[[str], str]] = {
    "upper case": str.upper,
    "swapped case": str.swapcase,
    "full-width domain": lambda address: "@".join(
        (address.rsplit("@", 1)[0], full_width(address.rsplit("@", 1)[1]))
    ),
    "decomposed accents": lambda address: unicodedata.normalize("NFD", address),
    "IDNA domain": domain_as_idna,
    "spaces around": lambda address: f"  {address} ",
}
