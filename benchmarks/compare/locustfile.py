"""The reads the comparison measures, with one real token and one real item.

COMPARE_READ picks one read (`GET /items/{id}` or `GET /items`), so that each is measured
on its own: its CPU time and statements per request are then its own. FastHttpUser:
locust's cheaper client, so the load generator caps the run less."""

import csv
import os
from typing import ClassVar

from locust import FastHttpUser, events
from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

HEADERS = {"Authorization": f"Bearer {os.environ['COMPARE_TOKEN']}"}
ITEM_ID = os.environ["COMPARE_ITEM_ID"]


def read_item(user: FastHttpUser) -> None:
    user.client.get(f"/api/v1/items/{ITEM_ID}", headers=HEADERS, name="GET /items/{id}")


def list_items(user: FastHttpUser) -> None:
    user.client.get("/api/v1/items?limit=20", headers=HEADERS, name="GET /items")


READS = {"GET /items/{id}": read_item, "GET /items": list_items}


class Reader(FastHttpUser):
    tasks: ClassVar = [READS[os.environ.get("COMPARE_READ", "GET /items/{id}")]]


@events.init.add_listener
def write_final_stats_at_quit(environment: Environment, **_: object) -> None:
    # locust's --csv files are rewritten every second and not at exit: these are final.
    @events.quit.add_listener
    def write(**_: object) -> None:
        with open(os.environ["COMPARE_STATS_CSV"], "w", newline="") as stats:
            StatsCSV(environment, PERCENTILES_TO_REPORT).requests_csv(csv.writer(stats))
