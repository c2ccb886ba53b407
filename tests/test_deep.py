"""Tier 2: named variants, rendered, installed, and checked with their own tools.

DATABASE_URL, when set, names a PostgreSQL server: the rendered suites make their own
throwaway databases on it. Unset, they start an embedded server (or use SQLite files).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import DEEP_VARIANTS, Variant, clean_env, run

pytestmark = pytest.mark.deep

SERVER_URL = os.environ.get("DATABASE_URL")


@dataclass(frozen=True)
class DeepProject:
    variant: Variant
    path: Path
    slug: str

    def uv(self, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        return run(["uv", "run", "--locked", *args], cwd=self.path, env=clean_env(**env))


@pytest.fixture(scope="module", params=DEEP_VARIANTS, ids=lambda variant: variant.name)
def project(request: pytest.FixtureRequest, copie_session: Any) -> DeepProject:
    variant: Variant = request.param
    result = copie_session.copy(extra_answers=variant.answers)
    assert result.exit_code == 0, repr(result.exception)
    path = Path(result.project_dir)
    run(["uv", "sync", "--locked"], cwd=path)
    return DeepProject(variant, path, result.answers["project_slug"])


def test_ruff(project: DeepProject) -> None:
    project.uv("ruff", "check", "--no-fix", ".")
    project.uv("ruff", "format", "--check", ".")


def test_mypy_strict(project: DeepProject) -> None:
    output = project.uv("mypy", "--strict").stdout
    assert "Success: no issues found" in output


@pytest.fixture
def migration_database(project: DeepProject) -> Iterator[str | None]:
    """A fresh database for the Alembic commands; None: the project's local default."""
    if SERVER_URL is None or project.variant.database != "postgresql":
        yield None
        return
    name = f"meta_{uuid.uuid4().hex[:12]}"
    run(["psql", SERVER_URL, "-qc", f'CREATE DATABASE "{name}"'], cwd=project.path)
    try:
        yield SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        run(["psql", SERVER_URL, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'], cwd=project.path)


def test_migrations_round_trip_and_match_the_models(
    project: DeepProject, migration_database: str | None
) -> None:
    env = {"DATABASE_URL": migration_database}
    project.uv("alembic", "upgrade", "head", **env)
    project.uv("alembic", "check", **env)
    project.uv("alembic", "downgrade", "base", **env)
    project.uv("alembic", "upgrade", "head", **env)


def test_rendered_suite_passes_with_full_coverage(project: DeepProject) -> None:
    started = time.perf_counter()
    server_url = SERVER_URL if project.variant.database == "postgresql" else None
    output = project.uv("pytest", "-p", "no:cacheprovider", DATABASE_URL=server_url).stdout
    elapsed = time.perf_counter() - started
    print(f"{project.variant.name}: rendered suite in {elapsed:.1f} s")
    assert "Required test coverage of 100% reached" in output
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None
    assert int(passed.group(1)) >= 30
    assert not re.search(r"\d+ (failed|skipped|xfailed|error)", output)


CONTRACT_ENDPOINTS = {
    "POST /api/v1/users",
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "GET /api/v1/users/me",
    "GET /api/v1/users",
    "GET /api/v1/users/{id}",
    "PATCH /api/v1/users/{id}",
    "DELETE /api/v1/users/{id}",
    "GET /api/v1/items",
    "POST /api/v1/items",
    "GET /api/v1/items/{id}",
    "PATCH /api/v1/items/{id}",
    "DELETE /api/v1/items/{id}",
    "GET /health/live",
    "GET /health/ready",
}


def test_bench_quick_loads_every_endpoint_within_budget(project: DeepProject) -> None:
    """`bench --quick` on the local default database (never a shared server: it seeds)."""
    started = time.perf_counter()
    output = project.uv(project.slug, "bench", "--quick", DATABASE_URL=None).stdout
    elapsed = time.perf_counter() - started
    report = json.loads((project.path / "benchmarks/report.json").read_text())
    print(f"{project.variant.name}: bench --quick in {elapsed:.0f} s")
    print(output[output.index("Measured with") :])
    assert report["problems"] == []
    loaded = {endpoint["endpoint"] for endpoint in report["endpoints"]}
    assert loaded == CONTRACT_ENDPOINTS
    assert all(endpoint["requests"] > 0 for endpoint in report["endpoints"])


RLS_VARIANTS = [
    variant
    for variant in DEEP_VARIANTS
    if variant.database == "postgresql" and variant.answers.get("rls", True)
]


@pytest.mark.parametrize("variant", RLS_VARIANTS, ids=lambda variant: variant.name)
def test_rls_tests_fail_when_row_level_security_is_off(variant: Variant, copie: Any) -> None:
    """The isolation tests must catch a database that does not enforce the policies."""
    result = copie.copy(extra_answers=variant.answers)
    assert result.exit_code == 0, repr(result.exception)
    sabotaged = Path(result.project_dir)
    migration = next((sabotaged / "migrations/versions").glob("*_row_level_security.py"))
    source = migration.read_text()
    for statement in ("ENABLE ROW LEVEL SECURITY", "FORCE ROW LEVEL SECURITY"):
        assert f"ALTER TABLE item {statement}" in source
        source = source.replace(f'"ALTER TABLE item {statement}"', '"SELECT 1"')
    migration.write_text(source)
    run(["uv", "sync", "--locked"], cwd=sabotaged)
    outcome = subprocess.run(
        ["uv", "run", "--locked", "pytest", "tests/rls", "-p", "no:cacheprovider", "--no-cov"],
        cwd=sabotaged,
        env=clean_env(DATABASE_URL=SERVER_URL),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    print(outcome.stdout[-3000:])
    assert outcome.returncode == 1, outcome.stdout[-3000:] + outcome.stderr[-3000:]
    for test in (
        "test_a_user_sees_only_their_own_rows",
        "test_no_context_sees_no_rows",
        "test_inserting_a_row_for_another_owner_fails",
        "test_another_owners_row_cannot_be_changed_or_deleted",
        "test_item_has_forced_rls_and_a_policy_per_command",
    ):
        assert f"FAILED tests/rls/test_isolation.py::{test}" in outcome.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_answers_ready_on_the_local_default_database(project: DeepProject) -> None:
    """The README's promise: render, `serve`, and it is ready with no database configured."""
    port = free_port()
    process = subprocess.Popen(
        ["uv", "run", "--locked", project.slug, "serve", "--port", str(port)],
        cwd=project.path,
        env=clean_env(DATABASE_URL=None),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = wait_for_ready(f"http://127.0.0.1:{port}/health/ready", process)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert status == 200, output
    assert process.returncode == 0, output


def wait_for_ready(url: str, process: subprocess.Popen[str], timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                return int(response.status)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return -1
