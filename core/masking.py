"""Secrets out of stored payloads: what the admin shows, and what a sent message keeps.

An outbox payload can carry a live credential: an invitation e-mail's `invitation_url` holds
the token that joins a tenant. Staff who may read the outbox (a console viewer included) must
not be able to use it, and once the message has left (or has been given up on) nobody needs
it any more. `mask_secrets` returns a copy of a JSON value with

- every field whose name contains token, secret, password, passwd or api_key replaced by
  REDACTED, whatever its value;
- every field whose name contains url (`invitation_url`, `accept_url`, …) kept as a URL with
  its long opaque path segments and query values (the tokens) replaced by REDACTED;

everything else as it was, so a row still says what was sent, to whom and when.

`mask_personal_data` is for text leaving the service in reports (command output): e-mail
addresses replaced by REDACTED, the rest (keys, ids) kept so a finding can still be looked up.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.redaction import EMAIL_RE, REDACTED

_SECRET_NAME = re.compile(r"token|secret|password|passwd|api[_-]?key", re.IGNORECASE)
_URL_NAME = re.compile(r"url|link", re.IGNORECASE)
# A path segment or query value this long, in a URL's alphabet, is a token, not a word:
# secrets.token_urlsafe(32) gives 43 characters; slugs and ids here are far shorter.
_OPAQUE = re.compile(r"[A-Za-z0-9_\-.~:%=]{16,}")


def mask_url(value: str) -> str:
    """`value` with its long opaque path segments and query values replaced by REDACTED."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return REDACTED
    path = "/".join(
        REDACTED if _OPAQUE.fullmatch(segment) else segment for segment in parts.path.split("/")
    )
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [
                (name, REDACTED if _SECRET_NAME.search(name) or _OPAQUE.fullmatch(v) else v)
                for name, v in pairs
            ],
            safe="[]",
        )
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def _masked(name: str, value: Any) -> Any:
    if _SECRET_NAME.search(name):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str) and _URL_NAME.search(name):
        return mask_url(value)
    return mask_secrets(value)


def mask_secrets(value: Any) -> Any:
    """A copy of a JSON value with its secrets masked (module docstring)."""
    if isinstance(value, dict):
        return {key: _masked(str(key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def holds_masked_secret(value: Any) -> bool:
    """Whether a secret field of `value` was masked: the message can no longer be sent as
    written (an invitation without its link)."""
    if isinstance(value, dict):
        return any(
            (
                isinstance(item, str)
                and REDACTED in item
                and (_SECRET_NAME.search(str(key)) or _URL_NAME.search(str(key)))
            )
            or holds_masked_secret(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(holds_masked_secret(item) for item in value)
    return False


def mask_personal_data(text: str) -> str:
    """`text` with every e-mail address replaced by REDACTED."""
    return EMAIL_RE.sub(REDACTED, text)
