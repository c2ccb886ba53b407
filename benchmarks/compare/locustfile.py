"""The two reads the comparison measures, with one real token and one real item."""

import os

from locust import HttpUser, task

HEADERS = {"Authorization": f"Bearer {os.environ['COMPARE_TOKEN']}"}
ITEM_ID = os.environ["COMPARE_ITEM_ID"]


class Reader(HttpUser):
    @task
    def read_item(self) -> None:
        self.client.get(f"/api/v1/items/{ITEM_ID}", headers=HEADERS, name="GET /items/{id}")

    @task
    def list_items(self) -> None:
        self.client.get("/api/v1/items?limit=20", headers=HEADERS, name="GET /items")
