# /// script
# requires-python = ">=3.12"
# dependencies = ["httpx>=0.28"]
# ///
"""GET one path of a running service from N concurrent clients; print the latencies.

    uv run benchmarks/get_under_load.py --url http://127.0.0.1:8000 \\
        --path /api/v1/items --token "$(uv run my-api token mint --email me@example.com)"
"""

import argparse
import asyncio
import time

import httpx


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def client_loop(client: httpx.AsyncClient, path: str, until: float) -> list[float]:
    samples = []
    while time.perf_counter() < until:
        started = time.perf_counter()
        (await client.get(path)).raise_for_status()
        samples.append(time.perf_counter() - started)
    return samples


async def main(url: str, path: str, token: str, clients: int, seconds: float) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:
        await client_loop(client, path, time.perf_counter() + 1)  # warm up
        until = time.perf_counter() + seconds
        results = await asyncio.gather(*(client_loop(client, path, until) for _ in range(clients)))
    ms = [sample * 1000 for samples in results for sample in samples]
    print(
        f"GET {path}: {clients} clients, {seconds:.0f} s, {len(ms)} requests, "
        f"{len(ms) / seconds:.0f} req/s, p50={percentile(ms, 0.5):.1f} ms "
        f"p95={percentile(ms, 0.95):.1f} ms p99={percentile(ms, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--path", default="/api/v1/items")
    parser.add_argument("--token", default="")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.path, args.token, args.clients, args.seconds))
