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

import heapq
import importlib.util
import itertools
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import urllib3
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
            f"The proxy set in the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) failed on "
            f"the way to {host}.", cause="proxy",
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


class _Reaper:
    """One thread that cuts requests at their wall-clock bound.

    urllib3's timeouts bound each socket operation, not the request: an answer that drips in a
    byte at a time is never cut off. Each request's connection is registered here with its
    deadline; at the deadline its socket is shut down, which ends the blocked read at once.
    Released connections (back in the pool, or closed) are no longer watched.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, object]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, conn: object, deadline: float) -> None:
        with self._lock:
            token = next(self._order)
            conn._killswitch_watch = token  # type: ignore[attr-defined]
            conn._killswitch_cut = False  # type: ignore[attr-defined]
            sooner = not self._heap or deadline < self._heap[0][0]
            heapq.heappush(self._heap, (deadline, token, conn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="request-reaper",
                                                daemon=True)
                self._thread.start()
            # Woken only when it must wake sooner: a beat costs no thread switch otherwise.
            if sooner:
                self._lock.notify()

    def unwatch(self, conn: object) -> None:
        if conn is not None:  # urllib3 puts None back for a connection it dropped
            with self._lock:  # never cut a connection already handed back to the pool
                conn._killswitch_watch = None  # type: ignore[attr-defined]

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._lock.wait(wait)
                _deadline, token, conn = heapq.heappop(self._heap)
                if getattr(conn, "_killswitch_watch", None) != token:
                    continue  # finished in time
                conn._killswitch_cut = True  # type: ignore[attr-defined]
                sock = getattr(conn, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


_REAPER = _Reaper()
_pending = threading.local()  # the deadline of the request this thread is about to send


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_pending, "deadline", None)
        if deadline is not None:
            _REAPER.watch(self, deadline)
            _pending.conn = self
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_pending, "deadline", None)
        if deadline is not None:
            _REAPER.watch(self, deadline)
            _pending.conn = self
        super().request(*args, **kwargs)


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _put_conn(self, conn: Any) -> None:
        _REAPER.unwatch(conn)
        super()._put_conn(conn)


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _put_conn(self, conn: Any) -> None:
        _REAPER.unwatch(conn)
        super()._put_conn(conn)


def was_cut() -> bool:
    """True when this thread's last request was cut at its wall-clock bound."""
    conn = getattr(_pending, "conn", None)
    return bool(conn is not None and getattr(conn, "_killswitch_cut", False))


def ca_bundle(environ: Mapping[str, str] | None = None) -> str:
    """The CA bundle requests would verify with: the one the environment names, else its own."""
    env = os.environ if environ is None else environ
    named = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE")
    if named:
        return named
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    return DEFAULT_CA_BUNDLE_PATH


class HttpTransport:
    """One urllib3 pool manager for one base URL (direct, or through the proxy the environment
    names for that URL), certificates always checked. Thread-safe.

    The manager is set up at the first request, not when the client is made: requests (whose
    rules it follows) takes a tenth of a second to import, and the window's first paint, which
    comes after the demo's client is made, sends nothing.
    """

    def __init__(self, base_url: str, *, pool_size: int = 64) -> None:
        self._base_url = base_url
        self._pool_size = pool_size
        self._manager: urllib3.PoolManager | None = None
        self._setting_up = threading.Lock()
        self._problem: str | None = None

    @property
    def manager(self) -> urllib3.PoolManager:
        """The pool manager, set up on first use (from the environment as it is then)."""
        manager = self._manager
        if manager is None:
            with self._setting_up:
                if self._manager is None:
                    self._manager = self._set_up(self._base_url, self._pool_size)
                manager = self._manager
        return manager

    def _set_up(self, base_url: str, pool_size: int) -> urllib3.PoolManager:
        from requests.utils import get_auth_from_url, get_environ_proxies
        from requests.utils import select_proxy as _select_proxy

        ca = ca_bundle()
        # Read once: the problem is reported on the first request, where the engine shows it
        # like any other network failure, not as a crash while the profile loads.
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
        manager: urllib3.PoolManager
        if proxy is None:
            manager = urllib3.PoolManager(**pools)  # type: ignore[arg-type]
            self._watch(manager)
        elif urlsplit(proxy).scheme.lower().startswith("socks"):
            # SOCKS pools have their own connection classes: no wall-clock cut there; the
            # engine's own watch still declares the deadline.
            manager = self._socks(proxy, pools)
        else:
            user, password = get_auth_from_url(proxy)
            proxy_headers = (urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
                             if user else None)
            try:
                manager = urllib3.ProxyManager(proxy, proxy_headers=proxy_headers,
                                               **pools)  # type: ignore[arg-type]
                self._watch(manager)
            except (ProxySchemeUnknown, ValueError):
                self._problem = ("The proxy set in the environment (HTTPS_PROXY or ALL_PROXY) is "
                                 "not a proxy URL this app can use.")
                manager = urllib3.PoolManager(**pools)  # type: ignore[arg-type]
        return manager

    @staticmethod
    def _watch(manager: urllib3.PoolManager) -> None:
        manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def _socks(self, proxy: str, pools: dict[str, object]) -> urllib3.PoolManager:
        # Looked for first: urllib3's SOCKS module warns on stderr when PySocks is missing.
        if importlib.util.find_spec("socks") is None:
            self._problem = ("A SOCKS proxy is set in the environment (HTTPS_PROXY or ALL_PROXY), "
                             "and this installation has no SOCKS support (PySocks).")
            return urllib3.PoolManager(**pools)  # type: ignore[arg-type]
        from requests.utils import get_auth_from_url
        from urllib3.contrib.socks import SOCKSProxyManager

        user, password = get_auth_from_url(proxy)
        return SOCKSProxyManager(proxy, username=user or None, password=password or None,
                                 **pools)  # type: ignore[arg-type]

    def send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
             timeout: float) -> urllib3.BaseHTTPResponse:
        """Send; the whole exchange (connect, send, headers, and the body the caller reads
        next) is cut at ``timeout`` seconds from now, however slowly bytes keep coming."""
        manager = self.manager
        if self._problem is not None:
            raise NetworkError(self._problem)
        _pending.deadline = time.monotonic() + timeout
        _pending.conn = None
        try:
            return manager.urlopen(
                method, url, body=body, headers=dict(headers),
                # One budget for connecting and answering: "no answer within N s" means N.
                timeout=urllib3.Timeout(total=timeout),
                retries=False, redirect=False, preload_content=False, decode_content=True)
        finally:
            _pending.deadline = None

    def close(self) -> None:
        if self._manager is not None:
            self._manager.clear()
