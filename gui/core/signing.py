"""Gate APIv4 request signing, as a pure function."""

from __future__ import annotations

import hashlib
import hmac

EMPTY_BODY_HASH = hashlib.sha512(b"").hexdigest()


def sign(
    secret: str,
    method: str,
    path: str,
    query: str,
    body: bytes | str,
    timestamp: str,
) -> str:
    """Return the hex HMAC-SHA512 signature Gate expects in the ``SIGN`` header.

    ``path`` includes the ``/api/v4`` prefix; ``query`` is the raw, not URL-encoded query string
    ("" when none); ``body`` is exactly what is sent (b"" when none); ``timestamp`` is the same
    string that goes in the ``Timestamp`` header.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    body_hash = hashlib.sha512(raw).hexdigest() if raw else EMPTY_BODY_HASH
    message = f"{method.upper()}\n{path}\n{query}\n{body_hash}\n{timestamp}"
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha512).hexdigest()
