"""The final statistics of a locust run, written where `bench` reads them.

Imported by the locustfiles (as `benchmarks.final_stats`: locust runs in the project's
folder). locust's own `--csv` files are rewritten only every second and not at exit: a
short run can end with its last second, or all of it, missing. These are written once,
at quit.
"""

import csv
import os
from collections.abc import Callable

from locust.env import Environment
from locust.event import EventHook
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV


def listen(hook: EventHook, listener: Callable[..., None]) -> None:
    add_listener: Callable[[Callable[..., None]], object] = hook.add_listener  # untyped in locust
    add_listener(listener)


def write_final_stats_at_quit(environment: Environment, **_: object) -> None:
    """At quit: requests (times in ms) to BENCH_STATS_CSV, failures by error to
    BENCH_FAILURES_CSV."""

    def write(**_: object) -> None:
        stats = StatsCSV(environment, PERCENTILES_TO_REPORT)
        with open(os.environ["BENCH_STATS_CSV"], "w", newline="") as requests:
            stats.requests_csv(csv.writer(requests))
        with open(os.environ["BENCH_FAILURES_CSV"], "w", newline="") as failures:
            stats.failures_csv(csv.writer(failures))

    listen(environment.events.quit, write)
