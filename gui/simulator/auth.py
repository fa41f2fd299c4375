"""The authentication stage: Gate's APIv4 signature, checked on every private route.

:func:`authenticate` checks KEY, Timestamp and SIGN as Gate's gateway does, after routing and
before the rate limit; the key's :class:`KeyGrant` then says what it may do on each product
(one of :data:`PERMISSIONS`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

from gui.simulator.api import ApiError, ApiRequest, bad_value

# Gate's gateway rejects a Timestamp further than this from its clock.
TIMESTAMP_WINDOW_S = 60.0
PERMISSIONS = ("rw", "r", "none")


@dataclass(frozen=True)
class KeyGrant:
    secret: str
    spot: str  # rw | r | none
    options: str
    futures: str = "rw"  # both settle currencies: Gate grants "futures" as one permission

    def permission(self, product: str) -> str:
        return {"spot": self.spot, "options": self.options,
                "futures": self.futures}.get(product, "none")


def signature(secret: str, method: str, path: str, query: str, body: bytes,
              timestamp: str) -> str:
    """Gate's APIv4 signature, written here again so the simulator checks the app's signer."""
    payload = "\n".join((method, path, query, hashlib.sha512(body).hexdigest(), timestamp))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()


def authenticate(req: ApiRequest, keys: dict[str, KeyGrant], server_now_s: float) -> str:
    """Check KEY, Timestamp and SIGN as Gate does; return the key."""
    key = req.headers.get("key")
    timestamp = req.headers.get("timestamp")
    sign = req.headers.get("sign")
    if not key or not timestamp or not sign:
        missing = [n for n, v in (("KEY", key), ("Timestamp", timestamp), ("SIGN", sign)) if not v]
        raise ApiError(401, "MISSING_REQUIRED_HEADER",
                       f"missing required header: {', '.join(missing)}")
    grant = keys.get(key)
    if grant is None:
        raise ApiError(401, "INVALID_KEY", "invalid key provided")
    try:
        stamp = float(timestamp)
    except ValueError:
        stamp = math.nan
    if not math.isfinite(stamp):
        raise bad_value(f"Timestamp is not a number of seconds: {timestamp!r}")
    if abs(stamp - server_now_s) > TIMESTAMP_WINDOW_S:
        raise ApiError(401, "REQUEST_EXPIRED",
                       "gap between request Timestamp and server time exceeds 60")
    # Gate signs the query string as it reads "without URL encode": the SDK signs it decoded
    # while urllib3 sends it encoded, and a signature over the encoded form is refused
    # (commas sent as %2C fail at Gate).
    queries = dict.fromkeys((unquote(req.raw_query), unquote_plus(req.raw_query)))
    received = sign.strip().lower()
    for query in queries:
        expected = signature(grant.secret, req.method, req.raw_path, query, req.body, timestamp)
        if hmac.compare_digest(expected, received):
            return key
    raise ApiError(401, "INVALID_SIGNATURE", "Signature mismatch")
