"""Base URLs of the exchange, and the check every configured URL goes through."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LIVE_URL = "https://api.gateio.ws/api/v4"
TESTNET_URL = "https://api-testnet.gateapi.io/api/v4"
API_PREFIX = "/api/v4"


class BaseUrlError(ValueError):
    """A base URL the app refuses to send keys to."""


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str) -> str:
    """Return the normalised base URL or raise :class:`BaseUrlError` saying what is wrong.

    Rules: ``https://`` (plain ``http://`` only for a loopback address such as the local
    simulator), a host, no query or fragment, no credentials, and a path that ends in ``/api/v4``
    (Gate signs the path from ``/api/v4`` on).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BaseUrlError("That is not a URL like " + LIVE_URL + ".") from None
    del port
    if parts.username or parts.password:
        # Checked first, and the URL is not quoted back: it holds a password.
        raise BaseUrlError("The base URL must not contain a user name or password.")
    host = parts.hostname or ""
    # What messages quote back: never a query or fragment, which may hold a token.
    shown = repr(f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc
                 else text.split("?")[0].split("#")[0])[:120]
    if parts.scheme not in ("https", "http") or not host:
        raise BaseUrlError(f"{shown} is not a URL like {LIVE_URL}.")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise BaseUrlError(
            f"{shown} uses plain http: keys and signatures would cross the network unencrypted. "
            "Use https:// (plain http is allowed only for 127.0.0.1, such as the local simulator).")
    if parts.query or parts.fragment:
        raise BaseUrlError(f"{shown}: the base URL must not have a query or fragment "
                           "(?… or #…).")
    path = parts.path.rstrip("/")
    if not path.endswith(API_PREFIX):
        raise BaseUrlError(f"{shown} must end in {API_PREFIX}, like {LIVE_URL}.")
    return f"{parts.scheme}://{parts.netloc}{path}"
