"""Where an item read's server CPU goes, layer by layer: py-spy samples of one worker
under load, each sample charged to the layer of its innermost recognised frame.

    uv run python benchmarks/compare/breakdown.py [--seconds 15] [--users 10] [--rate 250]
                                                  [--keep DIR]

Renders the default answers and seeds their embedded database as compare.py does, then,
for the rendered service and the minimal app in turn, serves `GET /api/v1/items/{id}`
from one uvicorn worker (no supervisor: the sampled process is the one serving), loads
it with locust while `py-spy record` samples that process (idle samples left out), and
prints each layer's share of the samples and what it costs per request: its share of
the worker's CPU time per request (read from /proc). The layers are `LAYERS`, matched
on each frame's file path; a sample whose frames match none is `other`.

py-spy (https://github.com/benfred/py-spy) reads the process's memory from outside it:
the app runs unmodified between samples. Each sample pauses it briefly (native frames can
only be read from a stopped process), so its CPU per request here reads higher than in
compare.py; the shares are what this is for.
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from compare import (
    BASE,
    HERE,
    PACKAGE,
    first_item_id,
    load,
    prepared,
    serving,
    uvicorn,
)

# (layer, pattern on a frame's "function (file:line)"), tried in order from the innermost
# frame outwards: the first frame that matches one names the sample's layer.
LAYERS: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in [
        ("logging", r"/logging/|observability/logging\.py"),
        ("metrics", r"prometheus_client/|observability/metrics\.py"),
        ("tracing", r"opentelemetry/|observability/tracing\.py"),
        ("JWT and token checks", r"/jwt/|auth/security\.py|auth/dependencies\.py"),
        ("accounts (revocation view)", r"users/revocation\.py|users/dependencies\.py"),
        ("driver (asyncpg)", r"/asyncpg/|asyncpg\.protocol|asyncpg::"),
        ("pool (checkout, ping, checkin)", r"sqlalchemy/pool/|db/engine\.py|db/rls\.py"),
        ("SQLAlchemy core (compile, execute, rows)", r"sqlalchemy/(engine|sql|dialects)/"),
        ("SQLAlchemy ORM and SQLModel", r"sqlalchemy/orm/|/sqlmodel/"),
        ("greenlet bridge", r"sqlalchemy/util/_concurrency|/greenlet/|sqlalchemy/ext/asyncio/"),
        ("validation and serialization (pydantic)", r"/pydantic|fastapi/_compat|encoders\.py|"
         r"pydantic_core"),
        ("dependency resolution", r"fastapi/dependencies/"),
        ("routing and endpoint call", r"fastapi/routing\.py|starlette/routing\.py"),
        ("middleware", r"starlette/middleware/|request_id\.py|web/guard\.py|web/head\.py|"
         r"web/cors\.py|starlette/_exception_handler\.py"),
        ("request and response objects", r"starlette/(requests|responses|datastructures)\.py"),
        ("the service's own code", rf"/{PACKAGE}/"),
        ("the minimal app's own code", r"minimal_app\.py"),
        ("HTTP server (uvicorn, httptools)", r"/uvicorn/|httptools"),
        ("event loop (asyncio, uvloop)", r"/asyncio/|uvloop"),
        ("JSON encoding", r"/json/"),
    ]
]  # fmt: skip


# The C library's system-call wrappers: a sample in one of them is in the kernel, where
# time is system CPU, or waiting to run again after waking PostgreSQL's backend (on two
# cores, often). Those samples are left out of the layers, whose shares split the user
# CPU; /proc's system CPU per request is reported on its own line instead.
SYSTEM_CALLS = {
    "write", "writev", "read", "readv", "send", "sendmsg", "sendto", "recv", "recvfrom",
    "recvmsg", "epoll_wait", "epoll_pwait", "connect", "accept4", "futex", "close",
}  # fmt: skip
KERNEL = "kernel (system calls)"


def layer_of(stack: str) -> str:
    frames = stack.split(";")
    if any(frame.split(" (")[0] in SYSTEM_CALLS for frame in frames[-3:]):
        return KERNEL
    for frame in reversed(frames):
        for name, pattern in LAYERS:
            if pattern.search(frame):
                return name
    return "other"


def layers_of(raw: Path) -> collections.Counter[str]:
    """Samples per layer, from py-spy's raw output (one "stack count" per line)."""
    layers: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            layers[layer_of(stack)] += int(count)
    return layers


def py_spy(pid: int, seconds: int, rate: int, output: Path) -> subprocess.Popen[bytes]:
    command = ["py-spy", "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--rate", str(rate), "--format", "raw", "--output", str(output)]
    # --native: the frames of compiled extensions too (asyncpg's protocol, pydantic-core,
    # httptools, uvloop), which would otherwise be charged to the Python frame calling them.
    command += ["--native", "--full-filenames"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def user_and_system_seconds(pid: int) -> tuple[float, float]:
    """CPU time of one process (no children: one uvicorn worker), in user and kernel mode."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def profile_one(
    python: Path,
    project: Path,
    command: list[str],
    env: dict[str, str],
    options: argparse.Namespace,
    reads: dict[str, str],
    work: Path,
    name: str,
) -> tuple[collections.Counter[str], float, float]:
    """(samples per layer, user and system CPU ms per request) of one app under load."""
    with serving(command, env, project, f"{BASE}/health/live") as pid:
        reads.setdefault("COMPARE_ITEM_ID", first_item_id(reads["COMPARE_TOKEN"]))
        # A warm-up, so that connecting and first-call caches stay out of the samples.
        load(python, env | reads, "GET /items/{id}", options.users, 3, work / f"{name}-warm")
        output = work / f"{name}.py-spy.txt"
        before = user_and_system_seconds(pid)
        sampler = py_spy(pid, options.seconds, options.rate, output)
        result = load(
            python, env | reads, "GET /items/{id}", options.users, options.seconds,
            work / name,
        )  # fmt: skip
        now = user_and_system_seconds(pid)
        user, system = now[0] - before[0], now[1] - before[1]
        if sampler.wait(timeout=120) != 0:
            raise RuntimeError(f"py-spy could not sample {name} (run as root, or allow ptrace)")
    if options.keep:
        shutil.copy(output, options.keep / output.name)
    return layers_of(output), user * 1000 / result[4], system * 1000 / result[4]


def main(options: argparse.Namespace) -> None:
    profiles: dict[str, tuple[collections.Counter[str], float, float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="breakdown-") as folder,
        prepared(Path(folder)) as setup,
    ):
        python, reads = setup.python, {"COMPARE_TOKEN": setup.token}
        apps = {
            "rendered service": (
                uvicorn(python, [f"{PACKAGE}.main:create_app", "--factory"], 1),
                setup.env,
            ),
            "minimal app": (
                uvicorn(python, ["minimal_app:app", "--app-dir", str(HERE)], 1),
                setup.minimal_env,
            ),
        }
        for name, (command, app_env) in apps.items():
            profiles[name] = profile_one(
                python, setup.project, command, app_env, options, reads, Path(folder),
                name.replace(" ", "_"),
            )  # fmt: skip
    report(profiles, options)


def report(
    profiles: dict[str, tuple[collections.Counter[str], float, float]],
    options: argparse.Namespace,
) -> None:
    print(
        f"GET /items/{{id}}, one uvicorn worker, {options.users} locust users, "
        f"{options.seconds} s sampled by py-spy at {options.rate} Hz; ms of CPU per request, "
        "and share of the user CPU"
    )
    names = list(profiles)
    print("| layer | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for layer in [name for name, _ in LAYERS] + ["other"]:
        cells = []
        for name in names:
            layers, user, _system = profiles[name]
            share = layers[layer] / max(1, sum(layers.values()) - layers[KERNEL])
            cells.append(f"{share * user:.3f} ({share:.0%})" if layers[layer] else "-")
        if any(cell != "-" for cell in cells):
            print(f"| {layer} | " + " | ".join(cells) + " |")
    print("| **user CPU** | " + " | ".join(f"{profiles[n][1]:.3f}" for n in names) + " |")
    print(f"| {KERNEL} | " + " | ".join(f"{profiles[n][2]:.3f}" for n in names) + " |")
    total = [f"{profiles[n][1] + profiles[n][2]:.3f}" for n in names]
    print("| **worker CPU** | " + " | ".join(total) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--keep", type=Path, help="a folder to keep py-spy's raw samples in")
    main(parser.parse_args())
