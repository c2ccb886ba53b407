# /// script
# requires-python = ">=3.12"
# dependencies = ["httpx>=0.28"]
# ///
"""Logins from N concurrent clients, and /health/live latency meanwhile.

Password hashing runs in worker threads; if it ran on the event loop, every login
would stall /health/live for the length of a hash. Against a running service:

    uv run my-api serve &                          # in a rendered project
    uv run benchmarks/login_under_load.py --url http://127.0.0.1:8000 --clients 8
"""

import argparse
import asyncio
import statistics
import time
import uuid

import httpx

PASSWORD = "benchmark passphrase 1234"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def describe(name: str, samples: list[float]) -> str:
    ms = [sample * 1000 for sample in samples]
    return (
        f"{name:<14} n={len(ms):<5} p50={percentile(ms, 0.50):7.1f} ms  "
        f"p95={percentile(ms, 0.95):7.1f} ms  p99={percentile(ms, 0.99):7.1f} ms  "
        f"max={max(ms):7.1f} ms  mean={statistics.fmean(ms):7.1f} ms"
    )


async def login_loop(client: httpx.AsyncClient, email: str, until: float) -> list[float]:
    samples = []
    while time.perf_counter() < until:
        started = time.perf_counter()
        response = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        response.raise_for_status()
        samples.append(time.perf_counter() - started)
    return samples


async def live_loop(client: httpx.AsyncClient, until: float, interval: float) -> list[float]:
    samples = []
    while time.perf_counter() < until:
        started = time.perf_counter()
        (await client.get("/health/live")).raise_for_status()
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(interval)
    return samples


async def main(url: str, clients: int, seconds: float) -> None:
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        created = await client.post("/api/v1/users", json={"email": email, "password": PASSWORD})
        created.raise_for_status()
        idle = await live_loop(client, time.perf_counter() + 2, 0.01)
        until = time.perf_counter() + seconds
        results = await asyncio.gather(
            live_loop(client, until, 0.01),
            *(login_loop(client, email, until) for _ in range(clients)),
        )
    logins = [sample for samples in results[1:] for sample in samples]
    print(f"{clients} concurrent login clients for {seconds:.0f} s against {url}")
    print(describe("login", logins))
    print(f"{'':<14} throughput={len(logins) / seconds:.1f} logins/s")
    print(describe("live (idle)", idle))
    print(describe("live (load)", results[0]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.clients, args.seconds))
