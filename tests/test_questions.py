"""The questions themselves: every one is reached by a deep variant (a service or one of
the resources generated in it); the filters behind the validators and derived names
behave."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from extensions.context import (
    LOCK_PLACEHOLDER,
    lock_for_project,
    package_name_problem,
    slugify,
    to_package_name,
)
from tests.support import DEEP_VARIANTS, EVERY_TYPE, MINIMAL, add_resource, load_questions

pytestmark = pytest.mark.render


@pytest.fixture(scope="module")
def deep_answers(copie_session: Any) -> list[dict[str, Any]]:
    """The answers of the deep projects: their services' and their generated resources'."""
    answers = []
    for variant in DEEP_VARIANTS:
        result = copie_session.copy(extra_answers=variant.answers)
        assert result.exit_code == 0, repr(result.exception)
        project = Path(result.project_dir)
        for resource in (EVERY_TYPE, MINIMAL):
            add_resource(project, resource)
        for answers_file in sorted(project.glob(".copier-answers*.yml")):
            answers.append(yaml.safe_load(answers_file.read_text()))
    return answers


def expected_values(spec: dict[str, Any]) -> list[Any] | None:
    """The values that must all occur: every choice, both booleans; None: any change."""
    if "choices" in spec:
        choices = spec["choices"]
        return list(choices.values() if isinstance(choices, dict) else choices)
    if spec.get("type") == "bool":
        return [True, False]
    return None


@pytest.mark.parametrize("question", sorted(load_questions()))
def test_every_question_is_reached_by_a_deep_variant(
    question: str, deep_answers: list[dict[str, Any]]
) -> None:
    spec = load_questions()[question]
    seen = [answers.get(question) for answers in deep_answers]
    expected = expected_values(spec)
    if expected is None:
        assert len({yaml.safe_dump(value) for value in seen}) > 1, (
            f"every deep variant answers {question} the same way: {seen[0]!r}"
        )
    else:
        missing = [value for value in expected if value not in seen]
        assert missing == [], f"no deep variant answers {question} with {missing}"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My API", "my-api"),
        ("Café Ünïcode API", "cafe-unicode-api"),
        ("  Spaces -- and __ symbols!! ", "spaces-and-symbols"),
        ("42 Things", "app-42-things"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert package_name_problem(to_package_name(slug)) == ""


LOCK = """version = 1

[[package]]
name = "alembic"
version = "1.0"

[[package]]
name = "lockfile-placeholder"
version = "0.1.0"

[[package]]
name = "mypy"
version = "1.0"

[[package]]
name = "zope"
version = "1.0"
"""


@pytest.mark.parametrize(
    ("slug", "order"),
    [
        ("aardvark", ["aardvark", "alembic", "mypy", "zope"]),
        ("my-api", ["alembic", "my-api", "mypy", "zope"]),
        ("zzz", ["alembic", "mypy", "zope", "zzz"]),
    ],
)
def test_lock_root_is_renamed_and_sorted_as_uv_does(slug: str, order: list[str]) -> None:
    lock = lock_for_project(LOCK, slug)
    names = [line.split('"')[1] for line in lock.splitlines() if line.startswith("name = ")]
    assert names == order
    assert LOCK_PLACEHOLDER not in lock
    assert lock.endswith('version = "1.0"\n') or lock.endswith('version = "0.1.0"\n')
    assert lock_for_project(lock_for_project(LOCK, slug), slug) == lock
