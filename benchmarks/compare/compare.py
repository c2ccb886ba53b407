"""The rendered service against a minimal Starlette + asyncpg app: framework overhead.

    uv run python benchmarks/compare/compare.py [--seconds 20] [--warmup 5] [--users 20]
                                                [--workers 2] [--rounds 3] [--tail-users 64]
                                                [--server uvicorn|granian]
                                                [--floor] [--instructions]

Renders the default answers, seeds its embedded database (1,000 accounts with 100 items
each, `pg_stat_statements` loaded: keeper.py), then, in each round, loads each app's
`GET /api/v1/items/{id}` and `GET /api/v1/items` in turn with the same locust users,
token, workers and database, then the item read again at --tail-users users. Each read
is measured after --warmup seconds of the same load, which open the connections it needs
(steady state, not start-up, decides the figures). The apps take turns going first from
one round to the next. It prints the median over the rounds of each figure, and the
service's ratios to the minimal app against the bounds of issue 17:

- server CPU per request (read from /proc: the server and its workers, Linux only),
  which the load generator sharing the machine does not skew: at most 1.3x;
- PostgreSQL CPU per request (the postmaster, its live backends and those that ended):
  at most 1.2x;
- p99 of the item read at --tail-users users: at most 2x;

and, from the database's own counts, the statements per request (each a round trip, but
for the settings that ride in BEGIN's message) and the sessions opened per run (new
connections: churn). With --instructions it also calls each app in-process under
valgrind's callgrind (`in_process.py`) and prints the CPU instructions per request: a
count that is the same on every run, for telling a change's effect from the noise of a
busy machine.

With --floor, a third app takes its turn in each round: floor_app.py, the same two reads
written plainly on FastAPI's dependencies and SQLAlchemy's `AsyncSession`, with nothing
else. Its ratios to the minimal app are the stack's share of the gap.
"""

import argparse
import csv
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypedDict

from copier import run_copy

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGE = "my_api"
ACCOUNT = "bench-0@example.com"
PORT = 8931
REQUESTS = 100  # per read, under callgrind (about 50 times slower than native)
BASE = f"http://127.0.0.1:{PORT}"
READS = ("GET /items/{id}", "GET /items")
TAIL = "GET /items/{id}"
SERVICE, MINIMAL, FLOOR = "rendered service", "minimal app", "stack floor"
APPS = (SERVICE, MINIMAL)
# Issue 17's bounds: the service's figure over the minimal app's.
BOUNDS = {"server CPU": 1.3, "PostgreSQL CPU": 1.2, "p99": 2.0}
CPU_FIGURES = (("server CPU", "server_cpu_ms"), ("PostgreSQL CPU", "database_cpu_ms"))


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError(f"{url} exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and all its descendants, those that ended
    (and were waited for: PostgreSQL's backends, uvicorn's workers) included."""
    ticks, pending, root = 0, [pid], pid
    while pending:
        current = pending.pop()
        try:
            # Fields 14 to 17 of /proc/PID/stat (utime, stime, cutime, cstime), counted
            # after the command name's ")". A live child's cutime is counted by its own
            # parent only when it ends, so only the root's is added.
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            if current == root:
                ticks += int(fields[13]) + int(fields[14])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(command: list[str], env: dict[str, str], cwd: Path, probe: str) -> Iterator[int]:
    server = subprocess.Popen(command, env=env, cwd=cwd)
    try:
        wait_until_up(probe, server)
        yield server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@dataclass(frozen=True)
class Run:
    """One app's figures for one read in one round; CPU times in ms per request."""

    requests_per_second: float
    p95_ms: float
    p99_ms: float
    failures: int
    server_cpu_ms: float
    database_cpu_ms: float
    statements_per_request: float
    sessions_opened: int
    # (calls per request, normalized query text), most called first.
    statements: tuple[tuple[float, str], ...]


class Stats(TypedDict, total=False):
    """keeper.py's answer to `stats` (`reset` answers with none of these)."""

    statements: list[tuple[int, str]]
    sessions: int
    transactions: int


class Keeper:
    """The database keeper (keeper.py): its URLs, its postmaster, its counts."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process, self._in, self._out = process, process.stdin, process.stdout
        started = json.loads(self._out.readline())
        self.urls = {"app": started["app"], "migration": started["migration"]}
        self.postmaster = int(started["postmaster"])

    def ask(self, command: str) -> Stats:
        self._in.write(command + "\n")
        self._in.flush()
        answer: Stats = json.loads(self._out.readline())
        return answer

    def close(self, stream: IO[str] | None = None) -> None:
        (stream or self._in).close()
        self.process.wait(timeout=60)


def load(
    python: Path, env: dict[str, str], read: str, users: int, seconds: int, prefix: Path
) -> tuple[float, float, float, int, int]:
    """One locust run of one read: (req/s, p95 ms, p99 ms, failures, requests)."""
    command = [str(python), "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless"]
    command += ["--host", BASE, "--users", str(users), "--spawn-rate", str(users)]
    command += ["--run-time", f"{seconds}s", "--only-summary", "--loglevel", "WARNING"]
    stats_csv = Path(f"{prefix}_stats.csv")
    env = env | {"COMPARE_STATS_CSV": str(stats_csv), "COMPARE_READ": read}
    subprocess.run(command, env=env, check=True, timeout=seconds + 120)
    with stats_csv.open() as stats:
        row = next((row for row in csv.DictReader(stats) if row["Name"] == read), None)
    if row is None:
        raise SystemExit(f"locust sent no {read} in {seconds} s: give the run (or warm-up) more")
    return (
        float(row["Requests/s"]),
        float(row["95%"]),
        float(row["99%"]),
        int(row["Failure Count"]),
        int(row["Request Count"]),
    )


def measured_run(
    keeper: Keeper,
    server_pid: int,
    load_run: tuple[float, float, float, int, int],
    before: tuple[float, float],
) -> Run:
    requests_per_second, p95, p99, failures, requests = load_run
    server_cpu = cpu_seconds(server_pid) - before[0]
    database_cpu = cpu_seconds(keeper.postmaster) - before[1]
    stats = keeper.ask("stats")
    statements = [(int(calls), str(query)) for calls, query in stats["statements"]]
    # The keeper's own statistics query is one of them.
    counted = [(calls, query) for calls, query in statements if "pg_stat_statements" not in query]
    return Run(
        requests_per_second=requests_per_second,
        p95_ms=p95,
        p99_ms=p99,
        failures=failures,
        server_cpu_ms=server_cpu * 1000 / requests,
        database_cpu_ms=database_cpu * 1000 / requests,
        statements_per_request=sum(calls for calls, _ in counted) / requests,
        sessions_opened=stats["sessions"],
        statements=tuple((calls / requests, query) for calls, query in counted),
    )


def measure(
    python: Path,
    keeper: Keeper,
    server_pid: int,
    env: dict[str, str],
    read: str,
    users: int,
    seconds: int,
    prefix: Path,
    warmup_seconds: int = 0,
) -> Run:
    if warmup_seconds:
        # The same load, not counted: it opens the connections the load needs (each a
        # PostgreSQL backend started, and its first statements parsed), a cost of
        # starting up that would otherwise land in the first second's tail.
        load(python, env, read, users, warmup_seconds, prefix.with_name(prefix.name + "-warmup"))
    keeper.ask("reset")
    before = (cpu_seconds(server_pid), cpu_seconds(keeper.postmaster))
    load_run = load(python, env, read, users, seconds, prefix)
    return measured_run(keeper, server_pid, load_run, before)


def uvicorn(python: Path, target: list[str], workers: int) -> list[str]:
    command = [str(python), "-m", "uvicorn", *target, "--port", str(PORT)]
    command += ["--workers", str(workers), "--loop", "uvloop", "--http", "httptools"]
    return [*command, "--no-access-log", "--log-level", "warning"]


def granian(python: Path, target: list[str], workers: int) -> list[str]:
    """The same app under Granian (Rust HTTP server, ASGI interface): `target` in
    uvicorn's words (`--factory`, `--app-dir DIR`), translated."""
    app, *flags = target
    command = [str(python.parent / "granian"), "--interface", "asgi", "--port", str(PORT)]
    command += ["--workers", str(workers), "--loop", "uvloop", "--no-ws"]
    command += ["--no-access-log", "--log-level", "warning"]
    if "--factory" in flags:
        command.append("--factory")
    if "--app-dir" in flags:
        command += ["--working-dir", flags[flags.index("--app-dir") + 1]]
    return [*command, app]


SERVERS = {"uvicorn": uvicorn, "granian": granian}


def first_item_id(token: str) -> str:
    request = urllib.request.Request(
        f"{BASE}/api/v1/items?limit=1", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(json.load(response)["items"][0]["id"])


def render(work: Path, server: str = "uvicorn") -> Path:
    project = work / "service"
    run_copy(str(ROOT), project, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    subprocess.run(["uv", "sync", "--locked", "--quiet"], cwd=project, check=True)
    if server != "uvicorn":
        # Beside the service's own dependencies, for this comparison only.
        python = str(project / ".venv/bin/python")
        subprocess.run(["uv", "pip", "install", "--quiet", "--python", python, server], check=True)
    return project


def instructions_per_request(
    python: Path, target: list[str], env: dict[str, str], cwd: Path, out: Path
) -> dict[str, int]:
    """CPU instructions per request of each read, counted by callgrind in-process."""
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    command += [str(python), str(HERE / "in_process.py"), *target, "--requests", str(REQUESTS)]
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True, timeout=1800)
    counts = {}
    for dump in out.parent.glob(f"{out.name}.*"):
        text = dump.read_text()
        label = re.search(r"^desc: Trigger: .* (\S+)$", text, re.MULTILINE)
        total = re.search(r"^summary: (\d+)", text, re.MULTILINE)
        if label and total:
            counts[label.group(1).replace("_", " ", 1)] = int(total.group(1)) // REQUESTS
    return counts


@dataclass(frozen=True)
class Options:
    seconds: int
    warmup: int
    users: int
    workers: int
    rounds: int
    tail_users: int
    server: str
    floor: bool
    instructions: bool


def start_keeper(python: Path, project: Path, env: dict[str, str]) -> Keeper:
    command = [str(python), str(HERE / "keeper.py"), PACKAGE]
    pipe = subprocess.PIPE
    return Keeper(
        subprocess.Popen(command, cwd=project, env=env, stdin=pipe, stdout=pipe, text=True)
    )


@dataclass(frozen=True)
class Prepared:
    """The rendered service, its seeded database and a token: what every run starts from."""

    project: Path
    python: Path
    keeper: Keeper
    # The service's environment; the minimal app's is the same, but for what it reads.
    env: dict[str, str]
    minimal_env: dict[str, str]
    token: str


@contextmanager
def prepared(work: Path, server: str = "uvicorn") -> Iterator[Prepared]:
    """Render the default answers into `work`, start keeper.py (the seeded embedded
    database, until the block ends) and mint a token for the first seeded account."""
    project = render(work, server)
    python = project / ".venv/bin/python"
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.pop("DATABASE_URL", None)
    env |= {"DATA_DIR": str(work / "data"), "SECRET_KEY": secrets.token_urlsafe(48)}
    env |= {"ENVIRONMENT": "production", "LOG_LEVEL": "WARNING"}
    # No SMTP server here: production refuses to start while password reset needs one.
    env |= {"PASSWORD_RESET_ENABLED": "false"}
    keeper = start_keeper(python, project, env)
    try:
        urls = keeper.urls
        env |= {"DATABASE_URL": urls["app"], "MIGRATION_DATABASE_URL": urls["migration"]}
        mint = [str(python), "-m", PACKAGE, "token", "mint", "--email", ACCOUNT]
        development = env | {"ENVIRONMENT": "development"}
        token = subprocess.run(
            mint, cwd=project, env=development, check=True, capture_output=True, text=True
        ).stdout.strip()
        minimal_env = env | {
            "DATABASE_URL": urls["app"].replace("+asyncpg", ""),
            "JWT_ISSUER": "my-api",
            "JWT_AUDIENCE": "my-api-api",
        }
        yield Prepared(project, python, keeper, env, minimal_env, token)
    finally:
        keeper.close()


def turns(names: list[str], round_number: int) -> list[str]:
    """The apps in this round's order: each goes first in turn, so none always meets a
    cold cache."""
    shift = round_number % len(names)
    return names[shift:] + names[:shift]


def main(options: Options) -> None:
    names = [*APPS, FLOOR] if options.floor else list(APPS)
    results: dict[str, dict[str, list[Run]]] = {app: {} for app in names}
    counted: dict[str, dict[str, int]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="compare-") as folder,
        prepared(Path(folder), options.server) as setup,
    ):
        work, python, project, env = Path(folder), setup.python, setup.project, setup.env
        serve, workers = SERVERS[options.server], options.workers
        apps = {
            SERVICE: (serve(python, [f"{PACKAGE}.main:create_app", "--factory"], workers), env),
            MINIMAL: (
                serve(python, ["minimal_app:app", "--app-dir", str(HERE)], workers),
                setup.minimal_env,
            ),
            FLOOR: (
                serve(python, ["floor_app:app", "--app-dir", str(HERE)], workers),
                setup.minimal_env,
            ),
        }
        reads = {"COMPARE_TOKEN": setup.token}
        for round_number in range(options.rounds):
            for name in turns(names, round_number):
                command, app_env = apps[name]
                with serving(command, app_env, project, f"{BASE}/health/live") as pid:
                    reads.setdefault("COMPARE_ITEM_ID", first_item_id(setup.token))
                    runs = [(read, options.users) for read in READS]
                    runs.append((f"{TAIL} at {options.tail_users}", options.tail_users))
                    for label, users in runs:
                        read = label.split(" at ")[0]
                        prefix = work / f"{name}-{round_number}-{len(results[name])}"
                        run = measure(
                            python, setup.keeper, pid, env | reads, read, users,
                            options.seconds, prefix, options.warmup,
                        )  # fmt: skip
                        results[name].setdefault(label, []).append(run)
                        print(f"round {round_number + 1}, {name}, {label}: {brief(run)}")
        if options.instructions:
            beside = setup.minimal_env | {"PYTHONPATH": str(HERE)}
            in_process = {
                SERVICE: ([f"{PACKAGE}.main:create_app", "--factory"], env),
                MINIMAL: (["minimal_app:app"], beside),
                FLOOR: (["floor_app:app"], beside),
            }
            for name in names:
                target, app_env = in_process[name]
                out = work / f"callgrind.{name.replace(' ', '_')}"
                counted[name] = instructions_per_request(
                    python, target, app_env | reads, project, out
                )
    report(results, options)
    if counted:
        report_instructions(counted)


def brief(run: Run) -> str:
    return (
        f"{run.requests_per_second:.0f} req/s, server {run.server_cpu_ms:.2f} ms, "
        f"PostgreSQL {run.database_cpu_ms:.2f} ms, {run.statements_per_request:.2f} "
        f"statements/request, {run.sessions_opened} sessions, p99 {run.p99_ms:.0f} ms"
        + (f", {run.failures} FAILED" if run.failures else "")
    )


def report_instructions(counted: dict[str, dict[str, int]]) -> None:
    minimal = counted[MINIMAL]
    print(f"CPU instructions per request, in-process (callgrind, {REQUESTS} requests each):")
    for endpoint in sorted(minimal):
        figures = ", ".join(
            f"{name} {counts[endpoint] / 1e6:.2f} M ({counts[endpoint] / minimal[endpoint]:.2f}x)"
            for name, counts in counted.items()
        )
        print(f"{endpoint:<18}{figures}")


def median(runs: list[Run], figure: str) -> float:
    return statistics.median(float(getattr(run, figure)) for run in runs)


def ratio(figure: float, minimal: float) -> str:
    return f"{figure / minimal:.2f}x" if minimal else "-"


def verdict(times: float, bound: float) -> str:
    return f"{times:.2f}x (bound {bound}x: {'within' if times <= bound else 'OVER'})"


def report(results: dict[str, dict[str, list[Run]]], options: Options) -> None:
    service, minimal = results[SERVICE], results[MINIMAL]
    floor = results.get(FLOOR)
    print(
        f"\nMedians of {options.rounds} rounds: {options.users} locust users, "
        f"{options.seconds} s per read after {options.warmup} s of warm-up, "
        f"{options.workers} {options.server} workers, one database"
    )
    figures = [
        ("req/s", "requests_per_second", "{:.0f}"),
        ("server CPU ms/req", "server_cpu_ms", "{:.2f}"),
        ("PostgreSQL CPU ms/req", "database_cpu_ms", "{:.2f}"),
        ("statements/req", "statements_per_request", "{:.2f}"),
        ("sessions opened", "sessions_opened", "{:.0f}"),
        ("p95 ms", "p95_ms", "{:.0f}"),
        ("p99 ms", "p99_ms", "{:.0f}"),
    ]
    head = f"| read | figure | {SERVICE} | {MINIMAL} | ratio |"
    rule = "|---|---|---:|---:|---:|"
    if floor is not None:
        head, rule = head + f" {FLOOR} | its ratio |", rule + "---:|---:|"
    print(f"{head}\n{rule}")
    for label in service:
        for title, figure, shape in figures:
            theirs, ours = median(minimal[label], figure), median(service[label], figure)
            row = [label, title, shape.format(ours), shape.format(theirs), ratio(ours, theirs)]
            if floor is not None:
                least = median(floor[label], figure)
                row += [shape.format(least), ratio(least, theirs)]
            print(f"| {' | '.join(row)} |")
    print()
    tail = f"{TAIL} at {options.tail_users}"
    for name, runs in results.items():
        if name == MINIMAL:
            continue
        for label in READS:
            for title, figure in CPU_FIGURES:
                times = median(runs[label], figure) / median(minimal[label], figure)
                print(f"{name}: {title} per request, {label}: {verdict(times, BOUNDS[title])}")
        times = median(runs[tail], "p99_ms") / median(minimal[tail], "p99_ms")
        print(f"{name}: p99 at {options.tail_users} users, {TAIL}: {verdict(times, BOUNDS['p99'])}")
    for name, runs in results.items():
        print(f"\nStatements per request of {TAIL}, {name} (last round):")
        for per_request, query in runs[READS[0]][-1].statements:
            if per_request >= 0.01:
                print(f"  {per_request:6.2f}  {' '.join(query.split())[:110]}")


def load_seconds(text: str) -> int:
    """A load run's length in seconds: locust spawns its users over the first second, and
    a 1-second run may report no request at all."""
    seconds = int(text)
    if seconds < 2:
        raise argparse.ArgumentTypeError("at least 2 seconds")
    return seconds


def warmup_seconds(text: str) -> int:
    """A warm-up's length in seconds: 0 for none, else as `load_seconds`."""
    return 0 if int(text) == 0 else load_seconds(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=load_seconds, default=20)
    parser.add_argument(
        "--warmup",
        type=load_seconds,
        default=5,
        help="seconds of load before each read, not counted",
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tail-users", type=int, default=64)
    parser.add_argument(
        "--server", choices=sorted(SERVERS), default="uvicorn", help="the ASGI server of every app"
    )
    parser.add_argument(
        "--floor", action="store_true", help="also measure floor_app.py (FastAPI + SQLAlchemy)"
    )
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions with callgrind"
    )
    arguments = parser.parse_args()
    main(Options(**vars(arguments)))
