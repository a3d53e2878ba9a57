"""`make load`'s user mix (locust): partners, products, customers and staff at once.

The data (keys, signed-in sessions, the pending version) comes from the JSON file named by
TERMS_LOAD_DATA, written by bench/load.py after it loaded the throwaway database:
- partners list their tenants, read a tenant's consent status and record answers (API key);
- the products ask whether a tenant may keep using the service (product key);
- customers open the portal, review the pending revision and accept it (session + CSRF);
- staff open the console dashboard (session).
Every request that is not 2xx/3xx counts as an error; the run must end with none.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

DATA: dict[str, Any] = json.loads(Path(os.environ["TERMS_LOAD_DATA"]).read_text())
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_partners = itertools.cycle(DATA["partners"])
_sessions = itertools.cycle(DATA["sessions"])
_tenants = itertools.cycle(DATA["status_tenants"])


class PartnerUser(HttpUser):
    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        partner = next(_partners)
        self.headers = {"Authorization": f"Api-Key {partner['key']}"}
        self.tenants = itertools.cycle(partner["tenants"])

    @task(2)
    def list_tenants(self) -> None:
        self.client.get("/api/v1/tenants/", headers=self.headers, name="api: list tenants")

    @task(3)
    def consent_status(self) -> None:
        tenant = next(self.tenants)
        self.client.get(
            f"/api/v1/tenants/{tenant}/consents/",
            headers=self.headers,
            name="api: consent status",
        )

    @task(2)
    def answer(self) -> None:
        tenant = next(self.tenants)
        body = {
            "version": DATA["version_id"],
            "answer": "accepted",
            "evidence": {
                "person_name": "Load Taro",
                "person_email": "taro@customer.load.example",
                "method": "partner portal checkbox",
                "ip_address": "203.0.113.9",
                "user_agent": "locust",
                "obtained_at": datetime.now(UTC).isoformat(),
            },
        }
        self.client.post(
            f"/api/v1/tenants/{tenant}/consents/",
            json=body,
            headers={**self.headers, "Idempotency-Key": str(uuid.uuid4())},
            name="api: consent answer",
        )


class ProductUser(HttpUser):
    weight = 4
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Api-Key {DATA['product_key']}"}

    @task
    def status(self) -> None:
        self.client.get(
            f"/api/v1/status/{next(_tenants)}/", headers=self.headers, name="api: status check"
        )


class CustomerUser(HttpUser):
    weight = 4
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.client.cookies.set("sessionid", next(_sessions))
        self.version = DATA["version_id"]

    @task(3)
    def home(self) -> None:
        self.client.get("/portal/", name="portal: home")

    @task(2)
    def review_and_answer(self) -> None:
        page = self.client.get(f"/portal/changes/{self.version}/", name="portal: review")
        match = CSRF.search(page.text or "")
        if match is None:
            return  # counted as an error by the review request if it failed
        self.client.post(
            f"/portal/changes/{self.version}/answer/",
            data={"answer": "accepted", "csrfmiddlewaretoken": match.group(1)},
            name="portal: answer (+ receipt)",
        )


class StaffUser(HttpUser):
    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.client.cookies.set("sessionid", DATA["staff_session"])

    @task
    def dashboard(self) -> None:
        self.client.get("/console/dashboard/", name="console: dashboard")
