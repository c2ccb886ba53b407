"""Free-text answers never break a render: each lands escaped for the language of every
file it reaches (Python, TOML, YAML, JSON, Markdown, dotenv), or its validator refuses it
with a message and nothing is written. Hypothesis picks the answers."""

from __future__ import annotations

import ast
import json
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from extensions.context import email_problem, one_line_problem, project_name_problem
from tests.support import ROOT, run

pytestmark = pytest.mark.render

# Any character a YAML answers file or a command line can carry (no lone surrogates).
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=90)
# What a person types: printable, with the punctuation that each language quotes.
TYPED_TEXT = st.text(
    st.one_of(
        st.sampled_from(list("\"'\\`|*_#<>&[]$-+=.) ")),
        st.characters(codec="utf-8", categories=["L", "N", "P", "S"]),
    ),
    min_size=1,
    max_size=90,
)


def answers_from(text: st.SearchStrategy[str], email: st.SearchStrategy[str]) -> Any:
    return st.fixed_dictionaries(
        {"project_name": text, "description": text, "author_name": text, "author_email": email}
    )


# Mostly typed answers, which must render; a quarter anything, which may be refused.
TYPED_ANSWERS = answers_from(TYPED_TEXT, st.emails())
ANSWERS = st.one_of(TYPED_ANSWERS, TYPED_ANSWERS, TYPED_ANSWERS, answers_from(ANY_TEXT, ANY_TEXT))
# The slug and package have validators of their own (tests/test_render.py): fixed here,
# so that a long or odd name is not refused for the slug derived from it.
FIXED = {"project_slug": "answers-check", "package_name": "answers_check", "docker": True}
PACKAGE = Path("src/answers_check")
# Renders of this working tree, as the other meta-tests make them.
QUIET: dict[str, Any] = {"defaults": True, "unsafe": True, "quiet": True, "vcs_ref": "HEAD"}
PARSERS = {
    ".py": ast.parse,
    ".toml": tomllib.loads,
    ".json": json.loads,
    ".yaml": lambda text: list(yaml.safe_load_all(text)),
    ".yml": lambda text: list(yaml.safe_load_all(text)),
}


def problems_of(answers: dict[str, str]) -> list[str]:
    return [
        problem
        for problem in (
            project_name_problem(answers["project_name"]),
            one_line_problem(answers["description"], "description"),
            one_line_problem(answers["author_name"], "author_name"),
            email_problem(answers["author_email"]),
        )
        if problem
    ]


def constants(source: str) -> dict[str, Any]:
    tree = ast.parse(source)
    return {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def table_rows(markdown: str) -> Iterator[list[str]]:
    """Each table row of `markdown` as its cells' code spans and text, parsed."""
    row: list[str] | None = None
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            yield row
            row = None
        elif token.type == "inline" and row is not None:
            row.append(inline_text(token))


def inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or [] if child.content)


def blocks(markdown: str) -> list[str]:
    """The text of the first heading and of the paragraph after it."""
    inline = [t for t in MarkdownIt("commonmark").parse(markdown) if t.type == "inline"]
    return [inline_text(inline[0]), inline_text(inline[1])]


def check_every_file_parses(project: Path) -> None:
    checked = 0
    for path in project.rglob("*"):
        parse = PARSERS.get(path.suffix)
        if parse is not None and path.is_file() and ".git" not in path.parts:
            parse(path.read_text())
            checked += 1
    assert checked > 50


def check_answers_read_back(project: Path, answers: dict[str, str]) -> None:
    about = constants((project / PACKAGE / "about.py").read_text())
    assert about == {"PROJECT_NAME": answers["project_name"], "DESCRIPTION": answers["description"]}
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"] == [
        {"name": answers["author_name"], "email": answers["author_email"]}
    ]
    readme = (project / "README.md").read_text()
    assert blocks(readme) == [answers["project_name"].strip(), answers["description"].strip()]
    settings_table = {row[0]: row[1] for row in table_rows(readme) if len(row) == 3}
    assert settings_table["PROJECT_NAME"] == answers["project_name"]
    mail_from = next(
        line for line in (project / ".env.example").read_text().splitlines() if "MAIL_FROM=" in line
    )
    assert (
        json.loads(mail_from.split("=", 1)[1])
        == f"{answers['project_name']} <no-reply@example.com>"
    )


@settings(
    max_examples=24,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answers=ANSWERS)
# The render that exited 0 with a broken __init__.py and pyproject.toml.
@example(
    answers={
        "project_name": "My API",
        "description": 'Says "hi" \\',
        "author_name": "Backend Team",
        "author_email": "backend@example.com",
    }
)
@example(
    answers={
        "project_name": '  It\'s "q" | `x` \\ & <b>Café</b> \uff46\uff55\uff4c\uff4c #',
        "description": "1. - *not* a list, `code` | [link](x) $x$",
        "author_name": 'O"Brien \\ & Sons',
        "author_email": 'o\'brien+"x"@example.com',
    }
)
def test_free_text_answers_never_break_a_render(
    tmp_path_factory: pytest.TempPathFactory, answers: dict[str, str]
) -> None:
    destination = tmp_path_factory.mktemp("answers") / "project"
    problems = problems_of(answers)
    event("refused" if problems else "rendered")
    if problems:
        with pytest.raises(ValueError, match="|".join(map(re.escape, problems))):
            run_copy(str(ROOT), destination, data={**answers, **FIXED}, **QUIET)
        assert not destination.exists()
        return
    run_copy(str(ROOT), destination, data={**answers, **FIXED}, **QUIET)
    check_every_file_parses(destination)
    check_answers_read_back(destination, answers)
    ruff = shutil.which("ruff")
    assert ruff is not None
    run([ruff, "check", "--no-fix", "."], cwd=destination)
    run([ruff, "format", "--check", "."], cwd=destination)
    shutil.rmtree(destination)
