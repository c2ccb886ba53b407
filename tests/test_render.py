"""Tier 1: many answer combinations, each rendered and checked without installing it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from tests.support import DEEP_VARIANTS, LONG_NAMES, ROOT, Variant, run

pytestmark = pytest.mark.render

RENDER_VARIANTS = [
    *DEEP_VARIANTS,
    Variant("unicode-name", {"project_name": "Café Ünïcode API"}),
    Variant("digits-first", {"project_name": "42 Things"}),
    Variant("long-names", LONG_NAMES),
    Variant("sqlite-313", {"database": "sqlite", "python_version": "3.13", "docker": False}),
    Variant("postgres-no-extras", {"docker": False, "github_actions": False}),
    Variant("many-scopes", {"auth_scopes": {f"s{i}:read": f"Scope {i}" for i in range(12)}}),
]

JINJA_LEFTOVER = re.compile(r"\{\{|\{%")
# Jinja2 that the service renders itself, at run time: its mails and its account pages.
RUNTIME_TEMPLATE = re.compile(r"src/[^/]+/(mail|accounts)/templates/[^/]+$")


def render(copie: Any, answers: dict[str, Any]) -> Path:
    result = copie.copy(extra_answers=answers)
    assert result.exit_code == 0, repr(result.exception)
    assert result.project_dir is not None
    return Path(result.project_dir)


def files_of(project: Path) -> set[str]:
    return {
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


@pytest.fixture(params=RENDER_VARIANTS, ids=lambda variant: variant.name)
def rendered(
    request: pytest.FixtureRequest, render_of: Callable[[Variant], Path]
) -> tuple[Variant, Path]:
    variant: Variant = request.param
    return variant, render_of(variant)


def test_no_template_syntax_is_left(rendered: tuple[Variant, Path]) -> None:
    _, project = rendered
    leftovers = [
        name
        for name in files_of(project)
        if JINJA_LEFTOVER.search((project / name).read_text(errors="replace"))
        and not name.endswith(".mako")  # Alembic's own template language
        and not RUNTIME_TEMPLATE.match(name)
    ]
    assert leftovers == []


def test_files_follow_the_answers(rendered: tuple[Variant, Path]) -> None:
    variant, project = rendered
    answers = variant.answers
    files = files_of(project)
    package = answers.get("package_name") or next(
        p.name for p in (project / "src").iterdir() if p.is_dir()
    )
    assert f"src/{package}/main.py" in files
    assert f"src/{package}/cli.py" in files
    assert ("Dockerfile" in files) == answers.get("docker", True)
    assert ("compose.yaml" in files) == answers.get("docker", True)
    assert (".github/workflows/ci.yml" in files) == answers.get("github_actions", True)
    assert ("deploy/kubernetes/kustomization.yaml" in files) == answers.get("kubernetes", False)
    assert ("LICENSE" in files) == (answers.get("license", "MIT") != "Proprietary")
    is_postgres = variant.database == "postgresql"
    assert (f"src/{package}/db/embedded.py" in files) == is_postgres
    uses_rls = is_postgres and answers.get("rls", True)
    # Every PostgreSQL variant has db/rls.py, the engine's hooks; without RLS they do
    # nothing (the file says how to turn it on).
    assert (f"src/{package}/db/rls.py" in files) == is_postgres
    if is_postgres:
        rls_hooks = (project / f"src/{package}/db/rls.py").read_text()
        assert ("ContextConnection" in rls_hooks) == uses_rls
    assert (f"src/{package}/db/bootstrap.py" in files) == uses_rls
    assert ("tests/rls/test_isolation.py" in files) == uses_rls
    assert any(name.endswith("_row_level_security.py") for name in files) == uses_rls
    # With RLS, a revision joins 0004 and the login throttle's 0005 and grants its table.
    assert any(name.endswith("_login_throttle_grants.py") for name in files) == uses_rls
    assert any(name.endswith("_login_throttle.py") for name in files)
    assert "tests/fuzz/test_openapi.py" in files
    assert (project / ".python-version").read_text().strip() == answers.get(
        "python_version", "3.13"
    )
    assert ("asyncpg" in (project / "pyproject.toml").read_text()) == is_postgres
    assert ("aiosqlite" in (project / "pyproject.toml").read_text()) != is_postgres


def test_ruff_passes_on_the_raw_render(rendered: tuple[Variant, Path]) -> None:
    _, project = rendered
    ruff = shutil.which("ruff")
    assert ruff is not None
    run([ruff, "check", "--no-fix", "."], cwd=project)
    run([ruff, "format", "--check", "."], cwd=project)


def test_answers_file_records_the_source_and_no_secret(rendered: tuple[Variant, Path]) -> None:
    variant, project = rendered
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"]
    assert answers["_commit"]
    for key, value in variant.answers.items():
        assert answers[key] == value
    assert not any("secret" in key.lower() or "password" in key.lower() for key in answers)


def test_secret_key_is_made_at_render_time_and_stays_out_of_git(copie: Any) -> None:
    first, second = render(copie, {}), render(copie, {})
    secrets = []
    for project in (first, second):
        env = dict(
            line.split("=", 1)
            for line in (project / ".env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        assert len(env["SECRET_KEY"]) >= 32
        assert env["SECRET_KEY"] not in (project / ".copier-answers.yml").read_text()
        assert ".env" in (project / ".gitignore").read_text().splitlines()
        secrets.append(env["SECRET_KEY"])
    assert secrets[0] != secrets[1]


def test_scopes_and_token_answers_reach_the_code(copie: Any) -> None:
    project = render(
        copie,
        {
            "auth_scopes": {"reports:read": 'Read "quarterly" reports'},
            "default_user_scopes": ["reports:read"],
            "access_token_minutes": 7,
            "refresh_token_days": 3,
        },
    )
    scopes = (project / "src/my_api/auth/scopes.py").read_text()
    assert '"reports:read": \'Read "quarterly" reports\'' in scopes
    assert '"users:admin"' in scopes
    assert 'DEFAULT_USER_SCOPES: tuple[str, ...] = (\n    "reports:read",\n)' in scopes
    config = (project / "src/my_api/settings.py").read_text()
    assert "default=7" in config
    assert "default=3" in config


def test_render_with_defaults_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    run_copy(str(ROOT), tmp_path / "fast", defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    elapsed = time.perf_counter() - started
    print(f"render with defaults: {elapsed:.2f} s")
    assert (tmp_path / "fast/uv.lock").stat().st_size > 0


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_rendered_lock_is_current(copie: Any, database: str) -> None:
    """Fails when pyproject.toml.jinja changed without `scripts/refresh_locks.py`."""
    project = render(copie, {"database": database})
    run(["uv", "lock", "--check"], cwd=project)


BAD_ANSWERS = [
    ({"project_name": ""}, "project_name must not be empty"),
    ({"project_name": "   "}, "project_name must not be empty"),
    ({"project_slug": "My_API"}, "project_slug 'My_API' must be lowercase"),
    ({"project_slug": "api-"}, "project_slug 'api-' must be lowercase"),
    ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
    ({"package_name": "json"}, "would shadow the standard library module"),
    ({"package_name": "fastapi"}, "would shadow a package the service depends on"),
    ({"package_name": "my-api"}, "must be a lowercase Python identifier"),
    ({"package_name": "p" * 31}, "is longer than 30 characters"),
    ({"project_slug": "s" * 41}, "is longer than 40 characters"),
    ({"author_email": "nobody"}, "author_email 'nobody' is not an email address"),
    ({"author_email": "a@b.c\nX-Evil: 1"}, "is not an email address"),
    ({"description": "two\nlines"}, "description must be printable text on one line"),
    ({"description": "d" * 201}, "description must be at most 200 characters"),
    ({"author_name": "Ada\u202eLovelace"}, "author_name must be printable text on one line"),
    ({"auth_scopes": {"Bad Scope": "x"}}, "scope name 'Bad Scope' must look like"),
    ({"auth_scopes": {"a:b:c": "x"}}, "scope name 'a:b:c' must look like"),
    ({"auth_scopes": {"reports": ""}}, "scope 'reports' needs a description"),
    ({"auth_scopes": ["reports"]}, "auth_scopes must be a YAML mapping"),
    ({"database": "sqlite", "rls": True}, "Row-Level Security needs PostgreSQL"),
    ({"docker": False, "kubernetes": True}, "Kubernetes manifests run the image the Dockerfile"),
    ({"database": "sqlite", "kubernetes": True}, "Kubernetes manifests need PostgreSQL"),
    ({"default_user_scopes": ["items:read", "nope"]}, "not defined: nope"),
    ({"default_user_scopes": "items:read"}, "default_user_scopes must be a YAML list"),
    ({"default_user_scopes": ["users:admin"]}, "must not hold users:admin"),
    ({"access_token_minutes": 0}, "access_token_minutes must be a positive whole number"),
    ({"refresh_token_days": -3}, "refresh_token_days must be a positive whole number"),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS, ids=lambda v: str(v)[:40])
def test_bad_answers_are_refused_and_leave_nothing(
    tmp_path: Path, answers: dict[str, Any], message: str
) -> None:
    destination = tmp_path / "refused"
    with pytest.raises(ValueError, match=re.escape(message)):
        run_copy(
            str(ROOT),
            destination,
            data=answers,
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    assert not destination.exists()


def test_the_cli_shows_the_reason(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--data",
            "package_name=class",
            "--vcs-ref",
            "HEAD",
            str(ROOT),
            str(tmp_path / "cli"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "package_name 'class' is a Python keyword" in result.stderr
    assert not (tmp_path / "cli").exists()
