"""Calls an ASGI app directly with the comparison's two reads: no HTTP, no load tool.

    python in_process.py MODULE:ATTRIBUTE [--factory] [--requests N]

Run by compare.py under callgrind, which counts the CPU instructions each request costs
the app: the same count on every run, however busy the machine is. The token and item
come in COMPARE_TOKEN and COMPARE_ITEM_ID, as for the locust users.
"""

import argparse
import asyncio
import importlib
import os
import subprocess
from collections.abc import MutableMapping
from typing import Any

from asgi_lifespan import LifespanManager

READS = {
    "GET /items/{id}": (f"/api/v1/items/{os.environ['COMPARE_ITEM_ID']}", b""),
    "GET /items": ("/api/v1/items", b"limit=20"),
}
WARM_UP = 50


def request_scope(path: str, query: bytes) -> dict[str, Any]:
    token = os.environ["COMPARE_TOKEN"].encode()
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer " + token)],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def call(app: Any, scope: dict[str, Any]) -> int:
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(dict(scope), receive, send)
    return statuses[0]


def callgrind_control(*arguments: str) -> None:
    """Tell the callgrind running this process what to do (nothing outside valgrind)."""
    subprocess.run(["callgrind_control", *arguments, str(os.getpid())], capture_output=True)


async def main(target: str, factory: bool, requests: int) -> None:
    module, _, attribute = target.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    app = app() if factory else app
    async with LifespanManager(app):
        for name, (path, query) in READS.items():
            scope = request_scope(path, query)
            for _ in range(WARM_UP):
                status = await call(app, scope)
                assert status == 200, f"{name}: {status}"
            callgrind_control("--zero")
            for _ in range(requests):
                await call(app, scope)
            # The label names the read: "GET_/items/{id}" (no spaces on the way).
            callgrind_control(f"--dump={name.replace(' ', '_')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("--requests", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.target, arguments.factory, arguments.requests))
