"""What the fuzzing sent, per operation: the tests record it, the conftest prints it."""

from collections import Counter, defaultdict

SENT: defaultdict[str, Counter[int]] = defaultdict(Counter)


def record(operation: str, status: int) -> None:
    SENT[operation][status] += 1
