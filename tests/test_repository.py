"""The template repository itself: its own code is clean, and its entry points agree."""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

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


JINJA_TAG = re.compile(r"{%.*?%}|{#.*?#}", re.DOTALL)
JINJA_EXPRESSION = re.compile(r"{{.*?}}", re.DOTALL)


def without_jinja(text: str) -> str:
    """Python text with its Jinja tags dropped (every branch kept) and each expression a
    name: enough for `ast` to read the imports of a template file."""
    return JINJA_EXPRESSION.sub("jinja_expression", JINJA_TAG.sub("", text))


def python_files_of_the_tests() -> Iterator[Path]:
    """The meta-tests' and the rendered suite's Python files, `.py` and `.py.jinja`."""
    for folder in (ROOT / "tests", ROOT / "template" / "tests"):
        for path in sorted(folder.rglob("*")):
            name = without_jinja(path.name)
            if path.is_file() and name.endswith((".py", ".py.jinja")):
                yield path


def is_test_or_conftest(module: str) -> bool:
    return any(part == "conftest" or part.startswith("test_") for part in module.split("."))


def forbidden_imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            separator = "." if node.module else ""
            modules = [base] + [f"{base}{separator}{alias.name}" for alias in node.names]
        else:
            continue
        if any(is_test_or_conftest(module) for module in modules):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_tests_import_helpers_only_from_helper_modules() -> None:
    """A helper lives in a helper module (tests/support.py, the rendered tests/helpers.py...):
    nothing imports from a conftest, which pytest loads on its own, or from a test module."""
    offenders = []
    for path in python_files_of_the_tests():
        tree = ast.parse(without_jinja(path.read_text()), filename=str(path))
        offenders += [f"{path.relative_to(ROOT)} {found}" for found in forbidden_imports(tree)]
    assert not offenders, "\n".join(offenders)
