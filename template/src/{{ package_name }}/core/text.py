"""What every text field of the API refuses: the NUL character.

PostgreSQL cannot store it in text (the driver's error would surface as a 500), and C
code reading the string stops at it; refused at the edge, it is a clear 422 on every
database.
"""

from pydantic import AfterValidator


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


NoNul = AfterValidator(refuse_nul)
