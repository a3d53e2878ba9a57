"""A browser-free caller of the live test server (tests/security/test_review_replay*.py).

Plain HTTP over a socket with `requests`: pages are fetched and their forms submitted with the
CSRF token the page carries, API calls carry a key or the session's CSRF header, and no
redirect is followed unless asked, so each answer is the server's own.
"""

from __future__ import annotations

import re
from typing import Any

import requests

PASSWORD = "pass-1234-word"  # tests/factories/tenants.py
TOKEN_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Caller:
    """One attacker's HTTP client: a cookie jar, optionally an API key."""

    def __init__(self, base: str, *, api_key: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        if api_key:
            self.http.headers["Authorization"] = f"Api-Key {api_key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 60)
        return self.http.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def form_token(self, page_path: str) -> str:
        """The CSRF token of the form on `page_path`, as a browser would submit it."""
        page = self.get(page_path)
        found = TOKEN_FIELD.search(page.text)
        assert found, f"no CSRF token on {page_path} ({page.status_code})"
        return found.group(1)

    def submit(
        self, path: str, data: dict[str, Any], *, page: str | None = None
    ) -> requests.Response:
        """Submit a form found on `page` (default: `path`) to `path`."""
        token = self.form_token(page or path)
        return self.request("POST", path, data={**data, "csrfmiddlewaretoken": token})

    def sign_in(self, door: str, username: str, password: str = PASSWORD) -> requests.Response:
        """Through a login page: /console/login/, /portal/login/ or /admin/login/."""
        return self.submit(door, {"username": username, "password": password})

    def signed_in(self) -> bool:
        return "sessionid" in self.http.cookies

    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        """A JSON call to the API; a signed-in session sends its CSRF token as a browser's
        script would."""
        headers = dict(kwargs.pop("headers", {}))
        if "csrftoken" in self.http.cookies:
            headers["X-CSRFToken"] = self.http.cookies["csrftoken"]
        if body is not None:
            kwargs["json"] = body
        return self.request(method, path, headers=headers, **kwargs)


def staff_session(base: str, user: Any, door: str = "/console/login/") -> Caller:
    caller = Caller(base)
    response = caller.sign_in(door, user.username)
    assert response.status_code == 302, response.text[:300]
    assert caller.signed_in()
    return caller
