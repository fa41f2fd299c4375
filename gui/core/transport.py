"""The HTTP transport under :class:`gui.core.client.GateClient`: urllib3 pools, set up once.

``requests`` decides, per call, what the environment says (proxy variables and ``no_proxy``,
``.netrc``, the CA bundle variables), merges session and call settings, copies headers and keeps
a cookie jar. For a client that talks to one host and sends the same beat every few seconds that
is the same answer computed again each time, and it made a beat cost half as much CPU again as
Gate's own SDK. So the client decides those things once, here, with requests' own rules
(:func:`requests.utils.get_environ_proxies` and friends, requests' CA bundle), and each request
goes straight to the urllib3 connection pool that requests itself would have used.

What does not change: certificates are always checked (``CERT_REQUIRED`` against requests' CA
bundle, or the one ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` names, as with requests); redirects
are never followed; nothing is retried here (the engine decides what to retry).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urlsplit

import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_auth_from_url, get_environ_proxies
from requests.utils import select_proxy as _select_proxy
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ProxySchemeUnknown,
    SSLError,
)
from urllib3.exceptions import TimeoutError as TransportTimeout

from gui.core.errors import NetworkError


class Transport(Protocol):
    """Sends one request and hands back the answer unread (``preload_content=False``)."""

    def send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
             timeout: float) -> urllib3.BaseHTTPResponse: ...

    def close(self) -> None:
        """Drop every pooled connection; the transport stays usable (new ones are opened)."""


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception urllib3 wrapped (``reason``, ``__cause__``, or an argument)."""
    seen = 0
    while seen < 8:
        seen += 1
        inner = getattr(exc, "reason", None) or exc.__cause__
        if inner is None:
            inner = next((a for a in exc.args if isinstance(a, BaseException)), None)
        if not isinstance(inner, BaseException) or inner is exc:
            return exc
        exc = inner
    return exc


def network_failure(exc: BaseException, host: str, wait: float) -> NetworkError:
    """Name a failure of the network for what it is, with what to do next.

    urllib3 2.x files a failed name lookup and a refused connection under its connect
    *timeout* class, so the order of these checks matters: a real timeout is said only when
    the clock ran out.
    """
    if isinstance(exc, NameResolutionError):
        return NetworkError(
            f"Could not resolve {host}: the name is unknown, or no DNS server answers.",
            cause="dns", advice="Check the network connection and the profile's base URL; "
                                "retrying.")
    if isinstance(exc, ProxyError):
        return NetworkError(
            f"The proxy set in the environment (HTTPS_PROXY or ALL_PROXY) failed on the way "
            f"to {host}.", cause="proxy",
            advice="Check that the proxy runs and lets the exchange through; retrying.")
    if isinstance(exc, SSLError):
        return NetworkError(
            f"The secure (TLS) connection to {host} failed: its certificate could not be "
            f"verified, or what answered does not speak TLS.", cause="tls",
            advice="Something on the way may be intercepting the connection (a captive "
                   "portal, a proxy, antivirus): check the network and the profile's base URL. "
                   "Retrying.")
    if isinstance(exc, NewConnectionError):
        root = _root_cause(exc)
        if isinstance(root, ConnectionRefusedError):
            return NetworkError(
                f"{host} refused the connection.", cause="refused",
                advice="Check the profile's base URL and port, and any firewall; retrying.")
        reason = getattr(root, "strerror", None) or "the network is unreachable"
        return NetworkError(f"Could not connect to {host} ({reason}).", cause="network",
                            advice="Check the network connection (Wi-Fi, VPN); retrying.")
    if isinstance(exc, (ConnectTimeoutError, TransportTimeout)):
        return NetworkError(f"No answer from {host} within {wait:.1f} s.", cause="timeout",
                            advice="Check the network connection; retrying on a fresh "
                                   "connection.")
    root = _root_cause(exc)
    if isinstance(exc, ProtocolError) or isinstance(root, (ConnectionError, EOFError)):
        return NetworkError(
            f"The connection to {host} was reset or dropped before the answer came.",
            cause="reset", advice="Check the network connection (Wi-Fi, VPN); retrying on a "
                                  "fresh connection.")
    return NetworkError(f"Could not reach {host} ({type(root).__name__}).", cause="network",
                        advice="Check the network connection; retrying.")


def ca_bundle(environ: Mapping[str, str] | None = None) -> str:
    """The CA bundle requests would verify with: the one the environment names, else its own."""
    env = os.environ if environ is None else environ
    return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or DEFAULT_CA_BUNDLE_PATH


class HttpTransport:
    """One urllib3 pool manager for one base URL (direct, or through the proxy the environment
    names for that URL), certificates always checked. Thread-safe."""

    def __init__(self, base_url: str, *, pool_size: int = 64) -> None:
        ca = ca_bundle()
        # Read once: the problem is reported on the first request, where the engine shows it
        # like any other network failure, not as a crash while the profile loads.
        self._problem: str | None = None
        tls: dict[str, str] = {"cert_reqs": "CERT_REQUIRED"}
        if os.path.isdir(ca):
            tls["ca_cert_dir"] = ca
        elif os.path.isfile(ca):
            tls["ca_certs"] = ca
        else:
            self._problem = ("The certificate bundle to check the exchange with was not found "
                             "(REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE names a missing file).")
        pools = {"num_pools": 4, "maxsize": pool_size, "block": False, **tls}
        # Kept only for this set-up: a proxy URL may hold a password.
        proxy = _select_proxy(base_url, get_environ_proxies(base_url)) or None
        self.manager: urllib3.PoolManager
        if proxy is None:
            self.manager = urllib3.PoolManager(**pools)  # type: ignore[arg-type]
        elif urlsplit(proxy).scheme.lower().startswith("socks"):
            self.manager = self._socks(proxy, pools)
        else:
            user, password = get_auth_from_url(proxy)
            proxy_headers = (urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
                             if user else None)
            try:
                self.manager = urllib3.ProxyManager(proxy, proxy_headers=proxy_headers,
                                                    **pools)  # type: ignore[arg-type]
            except (ProxySchemeUnknown, ValueError):
                self._problem = ("The proxy set in the environment (HTTPS_PROXY or ALL_PROXY) is "
                                 "not a proxy URL this app can use.")
                self.manager = urllib3.PoolManager(**pools)  # type: ignore[arg-type]

    def _socks(self, proxy: str, pools: dict[str, object]) -> urllib3.PoolManager:
        # Looked for first: urllib3's SOCKS module warns on stderr when PySocks is missing.
        if importlib.util.find_spec("socks") is None:
            self._problem = ("A SOCKS proxy is set in the environment (HTTPS_PROXY or ALL_PROXY), "
                             "and this installation has no SOCKS support (PySocks).")
            return urllib3.PoolManager(**pools)  # type: ignore[arg-type]
        from urllib3.contrib.socks import SOCKSProxyManager

        user, password = get_auth_from_url(proxy)
        return SOCKSProxyManager(proxy, username=user or None, password=password or None,
                                 **pools)  # type: ignore[arg-type]

    def send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
             timeout: float) -> urllib3.BaseHTTPResponse:
        if self._problem is not None:
            raise NetworkError(self._problem)
        return self.manager.urlopen(
            method, url, body=body, headers=dict(headers),
            # One budget for connecting and answering: "no answer within N s" means N.
            timeout=urllib3.Timeout(total=timeout),
            retries=False, redirect=False, preload_content=False, decode_content=True)

    def close(self) -> None:
        self.manager.clear()
