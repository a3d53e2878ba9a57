"""Benchmark 1's baseline: the same settings without the portal's consent-gate middleware."""

from __future__ import annotations

from bench.settings import *  # noqa: F403

GATE_MIDDLEWARE = "web.portal.middleware.ConsentGateMiddleware"
MIDDLEWARE = [name for name in MIDDLEWARE if name != GATE_MIDDLEWARE]  # noqa: F405
