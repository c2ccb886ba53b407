"""Load for `bench`: every endpoint of the API, by users holding real tokens.

`bench` seeds the accounts and passes their password in BENCH_PASSWORD; locust runs
this file in its own process (gevent), apart from the service it measures. The users
are FastHttpUsers: locust's cheaper client leaves more of the machine to the service.

The service mails for real, to bench's SMTP sink, which leaves the token of each mailed
link in the folder BENCH_MAILBOX, at `<page>/<recipient, quoted>` (bench.mailbox_file);
a user who asked for a mail waits there for its token, and follows the link with it.

Every account is one user's alone: a password change or reset ends every session of
its account, and would log out anyone else using it.
"""

import itertools
import os
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from locust import FastHttpUser, between, constant_pacing, events, task
from locust.contrib.fasthttp import ResponseContextManager

from benchmarks.final_stats import listen, write_final_stats_at_quit

PASSWORD = os.environ["BENCH_PASSWORD"]
SEEDED_USERS = int(os.environ["BENCH_USERS"])
ADMIN_EMAIL = os.environ["BENCH_ADMIN_EMAIL"]
MAILBOX = Path(os.environ["BENCH_MAILBOX"])
# Seconds a user waits for a mail it asked for; on loopback one takes milliseconds.
MAIL_WAIT_SECONDS = 10.0
# The account pages mailed links lead to (accounts/recovery.py).
RESET_PAGE, VERIFY_PAGE = "reset-password", "verify-email"
ITEM = "/api/v1/items/{id}"
USER = "/api/v1/users/{id}"
ME = "/api/v1/users/me"
_next_account = itertools.count()

listen(events.init, write_final_stats_at_quit)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(user: FastHttpUser, email: str, password: str = PASSWORD) -> dict[str, Any]:
    form = urlencode({"username": email, "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = user.client.post("/api/v1/auth/token", data=form, headers=headers)
    tokens: dict[str, Any] = response.json()
    return tokens


def mailed_token(email: str, page: str, previous: str | None = None) -> str | None:
    """The token of the newest link to `page` mailed to `email` other than `previous`,
    waiting for it at most MAIL_WAIT_SECONDS; None when none came."""
    path = MAILBOX / page / quote(email, safe="@")
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        token = path.read_text() if path.exists() else None
        if token not in (None, previous):
            return token
        time.sleep(0.01)  # gevent's: the other users go on meanwhile
    return None


def fail(answer: ResponseContextManager, reason: str) -> None:
    # Typed here: locust's failure() carries no annotations.
    failure: Callable[[str], None] = answer.failure
    failure(reason)


def token_of_its_mail(
    answer: ResponseContextManager, status: int, email: str, page: str, previous: str | None
) -> str | None:
    """In the `with` block of a request that mails `email` a link to `page`: the link's
    token, once it came. The request counts as failed when its answer is not `status`
    or no mail came; its time is the answer's alone either way."""
    if answer.status_code != status:
        fail(answer, f"HTTP {answer.status_code}")
        return None
    token = mailed_token(email, page, previous)
    if token is None:
        fail(answer, f"no mail came within {MAIL_WAIT_SECONDS:.0f} s")
    return token


class ApiUser(FastHttpUser):
    """A member: logs in as a seeded account of its own, works on its items, rotates
    tokens, renames itself, changes its password."""

    weight = 9
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        account = next(_next_account) % SEEDED_USERS
        self.email = f"bench-{account}@example.com"
        self.log_in()
        self.item_ids: list[str] = []
        self.settings_visits = 0

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

    @task(1)
    def account_settings(self) -> None:
        """Renames itself; every third time, changes its password too (two hashes: a
        password change is rarer than a login)."""
        body = {"full_name": f"Member {uuid.uuid4().hex[:6]}"}
        self.client.patch(ME, json=body, headers=bearer(self.access))
        self.settings_visits += 1
        if self.settings_visits % 3:
            return
        # The same one again: the account's later logins still work. Every earlier
        # token of the account ends: the member goes on with the pair it gets.
        body = {"current_password": PASSWORD, "new_password": PASSWORD}
        response = self.client.post(f"{ME}/password", json=body, headers=bearer(self.access))
        if response.status_code == 200:
            tokens = response.json()
            self.access, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

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


class Newcomer(FastHttpUser):
    """Someone new, one account after another: signs up, verifies the address with the
    link mailed for it, forgets the password and resets it with the link mailed for
    that, logs in with the new one, and deletes the account."""

    # Always one, however few users a run has: the mail flows are measured too.
    fixed_count = 1
    # Two accounts a second at most: each one hashes four times (sign-up, reset, login,
    # deletion), and new accounts come far less often than requests of members.
    wait_time = constant_pacing(0.5)

    @task
    def account_life(self) -> None:
        email = f"signup-{uuid.uuid4().hex}@example.com"
        password = secrets.token_urlsafe(18)
        body = {"email": email, "password": password}
        with self.client.post("/api/v1/users", json=body, catch_response=True) as answer:
            signed_up = token_of_its_mail(answer, 201, email, VERIFY_PAGE, None)
        if signed_up is None:
            return
        # Asked again (as if the first mail was lost): a new link comes, and is followed.
        path = "/api/v1/auth/email-verification"
        with self.client.post(path, json={"email": email}, catch_response=True) as answer:
            token = token_of_its_mail(answer, 202, email, VERIFY_PAGE, signed_up)
        if token is None:
            return
        self.client.post(f"{path}/confirm", json={"token": token})
        path = "/api/v1/auth/password-reset"
        with self.client.post(path, json={"email": email}, catch_response=True) as answer:
            token = token_of_its_mail(answer, 202, email, RESET_PAGE, None)
        if token is None:
            return
        password = secrets.token_urlsafe(18)
        self.client.post(f"{path}/confirm", json={"token": token, "new_password": password})
        access = log_in(self, email, password).get("access_token")
        if access is not None:
            self.client.delete(ME, json={"password": password}, headers=bearer(access))
