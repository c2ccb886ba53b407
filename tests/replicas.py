"""Several replicas of a rendered service on loopback, a locust write load spread over
them, and the database read back: the pieces of the deep replica test.

Each replica is `serve --workers 2` in a process group of its own, so one SIGKILL takes
it down whole (supervisor and workers), as a lost machine or a killed container would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port, run, wait_for_ready

# Runs inside the render (its own locust), one JSON line per write, flushed as it goes:
# a load killed mid-run still leaves every answer it got.
LOCUSTFILE = '''\
"""Writers that spread their item creations over REPLICAS, round robin."""

import itertools
import json
import os
import time

from locust import FastHttpUser, constant, task

REPLICAS = os.environ["REPLICAS"].split(",")
HEADERS = {"Authorization": "Bearer " + os.environ["TOKEN"]}
_writers = itertools.count()


class Writer(FastHttpUser):
    host = REPLICAS[0]
    wait_time = constant(0.02)
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.number = next(_writers)
        self.sequence = itertools.count()
        path = os.path.join(os.environ["OUT"], f"writer-{self.number}.jsonl")
        self.out = open(path, "w")

    @task
    def write(self) -> None:
        sequence = next(self.sequence)
        replica = (self.number + sequence) % len(REPLICAS)
        title = f"w{self.number}-{sequence}"
        body = {"title": title, "description": f"payload of {title}"}
        # Logged, and flushed, before it goes out: a load stopped mid-request (locust exits
        # without flushing its users' files) still names every write the service may store.
        self.out.write(json.dumps({"sent": title}) + "\\n")
        self.out.flush()
        started = time.time()
        url = REPLICAS[replica] + "/api/v1/items"
        with self.client.post(url, json=body, headers=HEADERS, catch_response=True) as answer:
            status = answer.status_code or 0
            answer.success()
        line = {"title": title, "replica": replica, "status": status}
        self.out.write(json.dumps({**line, "started": started, "ended": time.time()}) + "\\n")
        self.out.flush()
'''

# Reads every item as the server's superuser (no Row-Level Security applies to it).
READ_ITEMS = """
import asyncio, json, sys
import asyncpg

async def main() -> None:
    connection = await asyncpg.connect(sys.argv[1])
    rows = await connection.fetch("SELECT title, description FROM item")
    await connection.close()
    print(json.dumps({row["title"]: row["description"] for row in rows}))

asyncio.run(main())
"""

CREATE_DATABASE = """
import asyncio, sys
import asyncpg

async def main() -> None:
    connection = await asyncpg.connect(sys.argv[1])
    await connection.execute(f'CREATE DATABASE "{sys.argv[2]}"')
    await connection.close()

asyncio.run(main())
"""


@dataclass
class Replica:
    """One `serve --workers 2` on a port of its own."""

    number: int
    port: int
    process: subprocess.Popen[bytes] | None = None
    _started_with: tuple[Path, str, dict[str, str], Path] = field(init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, project: Path, slug: str, env: dict[str, str], log: Path) -> None:
        self._started_with = (project, slug, env, log)
        command = ["uv", "run", "--locked", slug, "serve", "--workers", "2"]
        with log.open("a") as log_file:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=project,
                env={**env, "DATA_DIR": str(log.parent / f"data-{self.number}")},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_ready(self, timeout: float = 120, new_port_if_taken: bool = False) -> None:
        """Until /health/ready answers 200. With `new_port_if_taken`, a replica that
        exited first is started once more on another port: between `free_port` and the
        bind, another test (another xdist worker) may have taken the port."""
        assert self.process is not None
        status = wait_for_ready(f"{self.url}/health/ready", self.process, timeout)
        if status != 200 and new_port_if_taken and self.process.poll() is not None:
            self.port = free_port()
            self.start(*self._started_with)
            status = wait_for_ready(f"{self.url}/health/ready", self.process, timeout)
        log = self._started_with[3].read_text(errors="replace")[-3000:]
        exit_code = self.process.poll()
        assert status == 200, f"replica {self.number}: {status}, exit {exit_code}, log:\n{log}"

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown, no draining."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def replicas(count: int) -> list[Replica]:
    return [Replica(number, free_port()) for number in range(count)]


@dataclass(frozen=True)
class Write:
    title: str
    replica: int
    status: int  # 0: no HTTP answer (connection refused or reset)
    started: float  # seconds since the epoch
    ended: float


def start_write_load(
    project: Path, env: dict[str, str], urls: list[str], token: str, out: Path, users: int
) -> subprocess.Popen[bytes]:
    """Locust, headless, `users` writers at once (bounded: no ramp beyond them); runs until
    stopped with SIGINT (or 120 s)."""
    out.mkdir()
    locustfile = out / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    command = ["uv", "run", "--locked", "locust", "-f", str(locustfile), "--headless"]
    limits = ["-u", str(users), "-r", str(users), "-t", "120s", "--only-summary"]
    with (out / "locust.log").open("w") as log:
        return subprocess.Popen(
            [*command, *limits],
            cwd=project,
            env={**env, "REPLICAS": ",".join(urls), "TOKEN": token, "OUT": str(out)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass(frozen=True)
class LoadOutcome:
    sent: set[str]  # every title sent, answered or not
    writes: list[Write]  # those that got to an end (an answer, or none)


def stop_write_load(load: subprocess.Popen[bytes], out: Path) -> LoadOutcome:
    """SIGTERM, which locust answers by stopping its users (SIGINT may be ignored: a
    pytest-xdist worker's children inherit its ignoring it), to uv and locust alike."""
    os.killpg(load.pid, signal.SIGTERM)
    load.wait(timeout=60)
    lines = [
        json.loads(line)
        for path in sorted(out.glob("writer-*.jsonl"))
        for line in path.read_text().splitlines()
        if line.endswith("}")
    ]
    return LoadOutcome(
        sent={line["sent"] for line in lines if "sent" in line},
        writes=[Write(**line) for line in lines if "sent" not in line],
    )


def stored_items(project: Path, env: dict[str, str], superuser_url: str) -> dict[str, str]:
    output = run(["uv", "run", "--locked", "python", "-c", READ_ITEMS, superuser_url], project, env)
    items: dict[str, str] = json.loads(output.stdout)
    return items


def create_database(project: Path, env: dict[str, str], superuser_url: str, name: str) -> None:
    run(
        ["uv", "run", "--locked", "python", "-c", CREATE_DATABASE, superuser_url, name],
        project,
        env,
    )
