"""The template repository itself: its own code is clean, and its entry points agree."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.support import ROOT, run

pytestmark = pytest.mark.render


def test_own_code_is_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    assert ruff is not None
    run([ruff, "check", "--no-fix", "."], cwd=ROOT)
    run([ruff, "format", "--check", "."], cwd=ROOT)


def first_code_blocks(markdown: str, count: int) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)[:count]


def test_readme_starts_with_the_two_commands() -> None:
    render_and_run, run_tests = first_code_blocks((ROOT / "README.md").read_text(), 2)
    assert "copier copy --trust --defaults" in render_and_run
    assert "uv run my-api serve" in render_and_run
    assert run_tests.strip() == "uv run pytest"


def test_ci_runs_the_readme_test_command() -> None:
    _, run_tests = first_code_blocks((ROOT / "README.md").read_text(), 2)
    ci_commands = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert any(line.endswith(run_tests.strip()) for line in ci_commands)
