"""What /metrics costs per request: the same app with METRICS_ENABLED off and on.

Run it with a rendered project's interpreter, from the project's folder:

    cd ../my-api && uv run python /path/to/copier-fastapi/benchmarks/observability_overhead.py

In-process (the ASGI app called directly: no client, no socket, no database, as the
paths answer without one), so the difference is the middleware and its bookkeeping. Rounds alternate
off and on, and the median of the rounds is printed, to keep a busy machine's noise out.
"""

import argparse
import asyncio
import importlib
import statistics
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

UNREACHABLE = "postgresql://nobody@127.0.0.1:9/nothing"


def package_name() -> str:
    pyproject = tomllib.loads(Path("pyproject.toml").read_text())
    return str(pyproject["tool"]["uv"]["build-backend"]["module-name"])


def make_app(package: str, metrics: bool) -> Any:
    config = importlib.import_module(f"{package}.settings")
    main = importlib.import_module(f"{package}.main")
    settings = config.Settings(
        _env_file=None, environment="test", database_url=UNREACHABLE, metrics_enabled=metrics
    )
    return main.create_app(settings)


def http_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }


async def microseconds_per_request(app: Any, path: str, requests: int) -> float:
    """The app called as the server calls it, without a client or a socket in the way."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    for _ in range(200):  # warm up
        await app(http_scope(path), receive, send)
    started = time.perf_counter()
    for _ in range(requests):
        await app(http_scope(path), receive, send)
    return (time.perf_counter() - started) / requests * 1e6


async def main(rounds: int, requests: int) -> None:
    package = package_name()
    apps = {False: make_app(package, False), True: make_app(package, True)}
    paths = {
        "GET /health/live": "/health/live",
        "GET /api/v1/items/{item_id} (401)": f"/api/v1/items/{uuid.uuid4()}",
    }
    print(f"{package}: {rounds} rounds of {requests} requests per path and setting")
    print("| path | metrics off µs | metrics on µs | difference µs |")
    print("|---|---:|---:|---:|")
    for name, path in paths.items():
        timings: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(rounds):
            for enabled in (False, True):
                timings[enabled].append(
                    await microseconds_per_request(apps[enabled], path, requests)
                )
        off, on = statistics.median(timings[False]), statistics.median(timings[True])
        print(f"| `{name}` | {off:.0f} | {on:.0f} | {on - off:+.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.requests))
