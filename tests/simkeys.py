"""Keys the simulator tests use, and a signer written independently of gui.core.signing.

Distinctive strings, so a key that leaks into a log or an error message is easy to spot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import requests

TEST_KEY = "sim-test-key-5f3c9a1e"
TEST_SECRET = "sim-test-secret-9b2e71d4c6a8"
RO_KEY = "sim-readonly-key-47d1b0"
RO_SECRET = "sim-readonly-secret-c08e3f52"


def signed_headers(key: str, secret: str, method: str, path: str, query: str, body: bytes,
                   timestamp: str) -> dict[str, str]:
    """KEY/Timestamp/SIGN for a request; ``path`` includes /api/v4, ``query`` as signed."""
    payload = f"{method}\n{path}\n{query}\n{hashlib.sha512(body).hexdigest()}\n{timestamp}"
    sign = hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()
    return {"KEY": key, "Timestamp": timestamp, "SIGN": sign}


def signed_call(session: requests.Session, base_url: str, method: str, path: str, *,
                query: str = "", sign_query: str | None = None,
                body: dict[str, Any] | list[Any] | bytes | None = None, key: str = TEST_KEY,
                secret: str = TEST_SECRET, timestamp: str | None = None,
                timeout: float = 5.0) -> requests.Response:
    """One signed request. ``path`` is below /api/v4; ``query`` is sent as given and signed as
    ``sign_query`` (default: the same text); ``timestamp`` defaults to the local clock."""
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    stamp = timestamp if timestamp is not None else f"{time.time():.3f}"
    full_path = urlsplit(base_url).path + path
    headers = signed_headers(key, secret, method, full_path,
                             query if sign_query is None else sign_query, raw, stamp)
    if raw:
        headers["Content-Type"] = "application/json"
    url = base_url + path + (f"?{query}" if query else "")
    return session.request(method, url, data=raw or None, headers=headers, timeout=timeout)
