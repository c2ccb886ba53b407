"""The two reads the comparison measures, with one real token and one real item.

FastHttpUser: locust's cheaper client, so the load generator caps the run less."""

import csv
import os

from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

HEADERS = {"Authorization": f"Bearer {os.environ['COMPARE_TOKEN']}"}
ITEM_ID = os.environ["COMPARE_ITEM_ID"]


class Reader(FastHttpUser):
    @task
    def read_item(self) -> None:
        self.client.get(f"/api/v1/items/{ITEM_ID}", headers=HEADERS, name="GET /items/{id}")

    @task
    def list_items(self) -> None:
        self.client.get("/api/v1/items?limit=20", headers=HEADERS, name="GET /items")


@events.init.add_listener
def write_final_stats_at_quit(environment: Environment, **_: object) -> None:
    # locust's --csv files are rewritten every second and not at exit: these are final.
    @events.quit.add_listener
    def write(**_: object) -> None:
        with open(os.environ["COMPARE_STATS_CSV"], "w", newline="") as stats:
            StatsCSV(environment, PERCENTILES_TO_REPORT).requests_csv(csv.writer(stats))
