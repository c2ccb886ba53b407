"""Load for `bench`: every endpoint of the API, by users holding real tokens.

`bench` seeds the accounts and passes their password in BENCH_PASSWORD; locust runs
this file in its own process (gevent), apart from the service it measures. The users
are FastHttpUsers: locust's cheaper client leaves more of the machine to the service.
"""

import itertools
import os
import uuid
from typing import Any
from urllib.parse import urlencode

from final_stats import listen, write_final_stats_at_quit
from locust import FastHttpUser, between, events, task

PASSWORD = os.environ["BENCH_PASSWORD"]
SEEDED_USERS = int(os.environ["BENCH_USERS"])
ADMIN_EMAIL = os.environ["BENCH_ADMIN_EMAIL"]
ITEM = "/api/v1/items/{id}"
USER = "/api/v1/users/{id}"
_next_account = itertools.count()

listen(events.init, write_final_stats_at_quit)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(user: FastHttpUser, email: str) -> dict[str, Any]:
    form = urlencode({"username": email, "password": PASSWORD})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = user.client.post("/api/v1/auth/token", data=form, headers=headers)
    tokens: dict[str, Any] = response.json()
    return tokens


class ApiUser(FastHttpUser):
    """A member: logs in as a seeded account, works on its items, rotates tokens."""

    weight = 9
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        account = next(_next_account) % SEEDED_USERS
        self.email = f"bench-{account}@example.com"
        self.log_in()
        self.item_ids: list[str] = []

    def log_in(self) -> None:
        tokens = log_in(self, self.email)
        self.access, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    @task(10)
    def list_items(self) -> None:
        self.client.get("/api/v1/items?limit=20", headers=bearer(self.access))

    @task(5)
    def create_item(self) -> None:
        body = {"title": f"bench {uuid.uuid4().hex[:8]}", "description": "load"}
        response = self.client.post("/api/v1/items", json=body, headers=bearer(self.access))
        self.item_ids.append(response.json()["id"])

    @task(10)
    def read_item(self) -> None:
        if self.item_ids:
            item_id = self.item_ids[-1]
            self.client.get(f"/api/v1/items/{item_id}", headers=bearer(self.access), name=ITEM)

    @task(3)
    def update_item(self) -> None:
        if self.item_ids:
            item_id = self.item_ids[0]
            body = {"title": "renamed"}
            headers = bearer(self.access)
            self.client.patch(f"/api/v1/items/{item_id}", json=body, headers=headers, name=ITEM)

    @task(2)
    def delete_item(self) -> None:
        if self.item_ids:
            item_id = self.item_ids.pop()
            self.client.delete(f"/api/v1/items/{item_id}", headers=bearer(self.access), name=ITEM)

    @task(3)
    def me(self) -> None:
        self.client.get("/api/v1/users/me", headers=bearer(self.access))

    @task(1)
    def rotate(self) -> None:
        body = {"refresh_token": self.refresh_token}
        tokens = self.client.post("/api/v1/auth/refresh", json=body).json()
        self.access, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    @task(1)
    def log_out_and_in(self) -> None:
        body = {"refresh_token": self.refresh_token}
        self.client.post("/api/v1/auth/logout", json=body, headers=bearer(self.access))
        self.log_in()

    @task(2)
    def health(self) -> None:
        self.client.get("/health/live")
        self.client.get("/health/ready")


class AdminUser(FastHttpUser):
    """An administrator: signs people up, reads, changes and removes accounts."""

    # Always one, however few users a run has: the admin endpoints are measured too.
    fixed_count = 1
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        self.access = log_in(self, ADMIN_EMAIL)["access_token"]

    @task(3)
    def list_users(self) -> None:
        self.client.get("/api/v1/users?limit=20", headers=bearer(self.access))

    @task(1)
    def account_lifecycle(self) -> None:
        body = {"email": f"signup-{uuid.uuid4().hex}@example.com", "password": PASSWORD}
        user_id = self.client.post("/api/v1/users", json=body).json()["id"]
        headers = bearer(self.access)
        self.client.get(f"/api/v1/users/{user_id}", headers=headers, name=USER)
        change = {"full_name": "Load Tester"}
        self.client.patch(f"/api/v1/users/{user_id}", json=change, headers=headers, name=USER)
        self.client.delete(f"/api/v1/users/{user_id}", headers=headers, name=USER)
