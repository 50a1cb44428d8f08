"""Locust users for `bench.load`: clients of the API, /health/ and a bare DRF endpoint.

`ApiUser` loops without think time over the expense list, creating a small expense, the
budget status and the dashboard, weighted 5:2:2:1; `LOAD_ONLY` (a task's name, e.g.
`dashboard`) runs one of them alone. Each simulated user takes the next access token of
`LOAD_TOKENS` (comma-separated, obtained by `bench.load` before the phase, so no phase
pays for a login's password hash); without tokens it logs in as a random
`bench_user_NNNN` with LOAD_PASSWORD (LOAD_USER_COUNT of them exist). `HealthUser` only
calls `/health/` and `PingUser` only `/bench/ping/`.
"""

from __future__ import annotations

import itertools
import os
import random
from datetime import date

from locust import FastHttpUser, constant, task

API = "/api/v1"
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
USER_COUNT = int(os.environ.get("LOAD_USER_COUNT", "2000"))
ONLY = os.environ.get("LOAD_ONLY", "")
TOKENS = [token for token in os.environ.get("LOAD_TOKENS", "").split(",") if token]
# What a created expense says, so the run's rows can be found and deleted afterwards.
CREATED_DESCRIPTION = "Load test coffee"

LOGIN = f"POST {API}/auth/token/"
EXPENSE_LIST = f"GET {API}/expenses/"
EXPENSE_CREATE = f"POST {API}/expenses/"
BUDGET_STATUS = f"GET {API}/budgets/status/"
DASHBOARD = f"GET {API}/reports/dashboard/"
HEALTH = "GET /health/"
PING = "GET /bench/ping/"

_next_token = itertools.count()


class ApiUser(FastHttpUser):
    wait_time = constant(0)
    headers: dict[str, str] = {}

    def on_start(self) -> None:
        if TOKENS:
            token = TOKENS[next(_next_token) % len(TOKENS)]
            self.headers = {"Authorization": f"Bearer {token}"}
            return
        username = f"bench_user_{random.randint(1, USER_COUNT):04d}"
        with self.client.post(
            f"{API}/auth/token/",
            json={"username": username, "password": PASSWORD},
            name=LOGIN,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                self.stop()
                return
            token = response.json()["access"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def _get(self, url: str, name: str) -> None:
        with self.client.get(url, headers=self.headers, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(5)
    def expense_list(self) -> None:
        self._get(f"{API}/expenses/", EXPENSE_LIST)

    @task(2)
    def expense_create(self) -> None:
        body = {
            "amount": f"{random.randint(100, 2_000) / 100:.2f}",
            "date": date.today().isoformat(),
            "description": CREATED_DESCRIPTION,
        }
        with self.client.post(
            f"{API}/expenses/",
            json=body,
            headers=self.headers,
            name=EXPENSE_CREATE,
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(2)
    def budget_status(self) -> None:
        self._get(f"{API}/budgets/status/", BUDGET_STATUS)

    @task(1)
    def dashboard(self) -> None:
        self._get(f"{API}/reports/dashboard/", DASHBOARD)


if ONLY:
    ApiUser.tasks = [getattr(ApiUser, ONLY)]


class HealthUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self) -> None:
        with self.client.get("/health/", name=HEALTH, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class PingUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def ping(self) -> None:
        with self.client.get("/bench/ping/", name=PING, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
