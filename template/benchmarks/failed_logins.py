"""Load for `bench`'s failed-logins phase: item reads while many failed logins hash.

`bench` runs this file twice at once, one locust process per user class, so that each
writes the statistics of its own requests only: the readers' "Aggregated" row is then
the percentiles of all their reads together.

- `FailedLoginUser` (`--failed-logins` of them): one login after another, each for the
  next seeded account with a wrong password, so each hashes and is answered 401. Spread
  over every seeded account, the per-account throttle (a few attempts per account and
  window) does not answer 429 before the password is hashed; `bench` lifts the
  per-address limit, as every client here has the address 127.0.0.1.
- `ReaderUser` (`--readers` of them): `GET /api/v1/items` and `GET /api/v1/items/{id}`,
  at most 10 reads a second each, with the access tokens and item ids that `bench` got
  before the phase (BENCH_READERS, JSON): a reader never waits for a login to start.

Every answer but the expected one is a failure named `HTTP <status>` (`HTTP 0`: no
answer at all), which `bench` counts by status from the failures file.
"""

import itertools
import json
import os
from collections.abc import Callable
from urllib.parse import urlencode

from locust import FastHttpUser, constant, constant_pacing, events, task
from locust.contrib.fasthttp import ResponseContextManager

from benchmarks.final_stats import listen, write_final_stats_at_quit

SEEDED_USERS = int(os.environ["BENCH_USERS"])
# No seeded account has it: bench's password is random, and URL-safe (no space).
WRONG_PASSWORD = "not the bench password"  # noqa: S105 (deliberately wrong)
LOGIN = "/api/v1/auth/token"
ITEMS = "/api/v1/items"
ITEM = "/api/v1/items/{id}"
_next_account = itertools.count()

listen(events.init, write_final_stats_at_quit)


def expect(answer: ResponseContextManager, status: int) -> None:
    # Typed here: locust's success() and failure() carry no annotations.
    succeed: Callable[[], None] = answer.success
    fail: Callable[[str], None] = answer.failure
    if answer.status_code == status:
        succeed()
    else:
        fail(f"HTTP {answer.status_code}")


class FailedLoginUser(FastHttpUser):
    """A client that logs in with a wrong password, again and again, without pause."""

    wait_time = constant(0)

    @task
    def fail_to_log_in(self) -> None:
        email = f"bench-{next(_next_account) % SEEDED_USERS}@example.com"
        form = urlencode({"username": email, "password": WRONG_PASSWORD})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        with self.client.post(LOGIN, data=form, headers=headers, catch_response=True) as answer:
            expect(answer, 401)


class ReaderUser(FastHttpUser):
    """A member reading its items: a steady demand of at most 10 reads a second."""

    # A fixed pace rather than none: readers that read as fast as they can would load
    # the 2 cores of a small machine themselves, and measure that instead of the logins.
    wait_time = constant_pacing(0.1)

    def on_start(self) -> None:
        readers = json.loads(os.environ["BENCH_READERS"])
        reader = readers[next(_next_account) % len(readers)]
        self.headers = {"Authorization": f"Bearer {reader['access_token']}"}
        self.item_path = f"{ITEMS}/{reader['item_id']}"

    @task
    def list_items(self) -> None:
        path = f"{ITEMS}?limit=20"
        with self.client.get(path, headers=self.headers, name=ITEMS, catch_response=True) as answer:
            expect(answer, 200)

    @task
    def read_item(self) -> None:
        path, headers = self.item_path, self.headers
        with self.client.get(path, headers=headers, name=ITEM, catch_response=True) as answer:
            expect(answer, 200)
