"""The rendered service against a minimal Starlette + asyncpg app: framework overhead.

    uv run python benchmarks/compare/compare.py [--seconds 20] [--users 20] [--workers 2]
                                                [--instructions]

Renders the default answers, seeds its embedded database (1,000 accounts with 100 items
each), then loads `GET /api/v1/items/{id}` and `GET /api/v1/items` of each app in turn,
with the same locust users, token, workers and database, and prints the ratios: of
requests per second and p95 under load, and of the CPU time each app spent per request
(read from /proc: Linux only), which the load generator sharing the machine does not skew.
With --instructions it also calls each app in-process under valgrind's callgrind
(`in_process.py`) and prints the CPU instructions per request: a count that is the same
on every run, for telling a change's effect from the noise of a busy machine.
"""

import argparse
import csv
import json
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from copier import run_copy

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGE = "my_api"
ACCOUNT = "bench-0@example.com"
PORT = 8931
REQUESTS = 100  # per read, under callgrind (about 50 times slower than native)
BASE = f"http://127.0.0.1:{PORT}"


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
    """User and system CPU time of a process and all its descendants."""
    ticks, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            # Fields 14 and 15 of /proc/PID/stat, counted after the command name's ")".
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(command: list[str], env: dict[str, str], cwd: Path, probe: str):
    server = subprocess.Popen(command, env=env, cwd=cwd)
    try:
        wait_until_up(probe, server)
        yield server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def load(python: Path, url: str, env: dict[str, str], users: int, seconds: int, prefix: Path):
    command = [str(python), "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless"]
    command += ["--host", url, "--users", str(users), "--spawn-rate", str(users)]
    command += ["--run-time", f"{seconds}s", "--only-summary", "--loglevel", "WARNING"]
    stats_csv = Path(f"{prefix}_stats.csv")
    env = env | {"COMPARE_STATS_CSV": str(stats_csv)}
    subprocess.run(command, env=env, check=True, timeout=seconds + 120)
    with stats_csv.open() as stats:
        return {
            row["Name"]: (
                float(row["Requests/s"]),
                float(row["95%"]),
                int(row["Failure Count"]),
                int(row["Request Count"]),
            )
            for row in csv.DictReader(stats)
            if row["Name"] != "Aggregated"
        }


def uvicorn(python: Path, target: list[str], workers: int) -> list[str]:
    command = [str(python), "-m", "uvicorn", *target, "--port", str(PORT)]
    command += ["--workers", str(workers), "--loop", "uvloop", "--http", "httptools"]
    return [*command, "--no-access-log", "--log-level", "warning"]


def first_item_id(token: str) -> str:
    request = urllib.request.Request(
        f"{BASE}/api/v1/items?limit=1", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(json.load(response)["items"][0]["id"])


def render(work: Path) -> Path:
    project = work / "service"
    run_copy(str(ROOT), project, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    subprocess.run(["uv", "sync", "--locked", "--quiet"], cwd=project, check=True)
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


def main(seconds: int, users: int, workers: int, instructions: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="compare-") as folder:
        work = Path(folder)
        project = render(work)
        python = project / ".venv/bin/python"
        env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
        env.pop("DATABASE_URL", None)
        env |= {"DATA_DIR": str(work / "data"), "SECRET_KEY": secrets.token_urlsafe(48)}
        env |= {"ENVIRONMENT": "production", "LOG_LEVEL": "WARNING"}
        # No SMTP server here: production refuses to start while password reset needs one.
        env |= {"PASSWORD_RESET_ENABLED": "false"}
        keeper = subprocess.Popen(
            [str(python), str(HERE / "keeper.py"), PACKAGE],
            cwd=project,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert keeper.stdout is not None
            urls = json.loads(keeper.stdout.readline())
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
            apps = {
                "rendered service": (
                    uvicorn(python, [f"{PACKAGE}.main:create_app", "--factory"], workers),
                    env,
                ),
                "minimal app": (
                    uvicorn(python, ["minimal_app:app", "--app-dir", str(HERE)], workers),
                    minimal_env,
                ),
            }
            results, cpu, counted = {}, {}, {}
            reads = {"COMPARE_TOKEN": token}
            for name, (command, app_env) in apps.items():
                with serving(command, app_env, project, f"{BASE}/health/live") as pid:
                    reads.setdefault("COMPARE_ITEM_ID", first_item_id(token))
                    started = cpu_seconds(pid)
                    results[name] = load(
                        python, BASE, env | reads, users, seconds, work / name.replace(" ", "_")
                    )
                    cpu[name] = cpu_seconds(pid) - started
            if instructions:
                in_process = {
                    "rendered service": ([f"{PACKAGE}.main:create_app", "--factory"], env),
                    "minimal app": (["minimal_app:app"], minimal_env | {"PYTHONPATH": str(HERE)}),
                }
                for name, (target, app_env) in in_process.items():
                    out = work / f"callgrind.{name.replace(' ', '_')}"
                    counted[name] = instructions_per_request(
                        python, target, app_env | reads, project, out
                    )
        finally:
            if keeper.stdin is not None:
                keeper.stdin.close()
            keeper.wait(timeout=60)
    report(results, cpu, users, seconds, workers)
    if counted:
        report_instructions(counted)


def report_instructions(counted: dict[str, dict[str, int]]) -> None:
    service, minimal = counted["rendered service"], counted["minimal app"]
    print(f"CPU instructions per request, in-process (callgrind, {REQUESTS} requests each):")
    for endpoint in sorted(service):
        print(
            f"{endpoint:<18}service {service[endpoint] / 1e6:.2f} M, "
            f"minimal {minimal[endpoint] / 1e6:.2f} M: the minimal app's is "
            f"{minimal[endpoint] / service[endpoint]:.0%} of the service's"
        )


def report(
    results: dict[str, dict[str, tuple[float, float, int, int]]],
    cpu: dict[str, float],
    users: int,
    seconds: int,
    workers: int,
) -> None:
    service, minimal = results["rendered service"], results["minimal app"]
    print(f"{users} locust users, {seconds} s each, {workers} uvicorn workers, one database")
    print(
        f"{'endpoint':<18}{'service req/s':>15}{'minimal req/s':>15}{'ratio':>8}"
        f"{'service p95':>13}{'minimal p95':>13}{'ratio':>8}"
    )
    for endpoint in sorted(service):
        (s_rps, s_p95, s_err, _), (m_rps, m_p95, m_err, _) = service[endpoint], minimal[endpoint]
        print(
            f"{endpoint:<18}{s_rps:>15.0f}{m_rps:>15.0f}{s_rps / m_rps:>8.0%}"
            f"{s_p95:>11.0f}ms{m_p95:>11.0f}ms{s_p95 / m_p95:>8.2f}"
        )
        if s_err or m_err:
            print(f"  errors: service {s_err}, minimal {m_err}")
    per_request = {
        name: cpu[name] * 1000 / sum(row[3] for row in results[name].values()) for name in cpu
    }
    service_cpu, minimal_cpu = per_request["rendered service"], per_request["minimal app"]
    print(
        f"server CPU per request (both endpoints): service {service_cpu:.2f} ms, "
        f"minimal {minimal_cpu:.2f} ms; the minimal app's is {minimal_cpu / service_cpu:.0%} "
        "of the service's"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions with callgrind"
    )
    arguments = parser.parse_args()
    main(arguments.seconds, arguments.users, arguments.workers, arguments.instructions)
