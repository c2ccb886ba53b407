"""What the fuzzing sent, per operation, printed at the end of the run."""

import pytest

from .recording import SENT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SENT:
        return
    total = sum(sum(statuses.values()) for statuses in SENT.values())
    terminalreporter.section(f"fuzzing: {total} requests")
    for operation, statuses in sorted(SENT.items(), key=lambda entry: entry[0].split()[::-1]):
        seen = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
        terminalreporter.write_line(f"{operation}: {sum(statuses.values())} ({seen})")
