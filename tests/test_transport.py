"""The client's HTTP transport against small servers on loopback: redirects, proxies, bodies."""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import importlib.util
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from gui.core.client import MAX_BODY_BYTES, GateClient
from gui.core.errors import BadResponseError, NetworkError
from gui.simulator import Simulator

KEY = "transport-key-0123456789"
SECRET = "transport-secret-abcdef0123"
TIME_BODY = b'{"server_time": 1760000000000}'


class Server:
    """A loopback HTTP server whose handler answers with ``reply(handler)``, noting each line."""

    def __init__(self, reply: Callable[[http.server.BaseHTTPRequestHandler], None]) -> None:
        self.lines: list[str] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.lines.append(self.requestline)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v4"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)


@contextlib.contextmanager
def serving(reply: Callable[[http.server.BaseHTTPRequestHandler], None]) -> Iterator[Server]:
    server = Server(reply)
    try:
        yield server
    finally:
        server.close()


def answer(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
           **headers: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def test_a_redirect_is_never_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even to the same host: a 3xx from the exchange's address is something in between.
    def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
        if handler.path.endswith("/spot/time"):
            answer(handler, 301, b"", Location=f"http://127.0.0.1:{server.port}/elsewhere")
        else:
            answer(handler, 200, TIME_BODY, Content_Type="application/json")

    with serving(redirect) as server, GateClient(server.base_url, timeout=3.0) as client:
        with pytest.raises(BadResponseError, match="301"):
            client.server_time()
        assert server.lines == ["GET /api/v4/spot/time HTTP/1.1"]


def test_an_oversized_answer_is_refused_and_the_next_request_still_works() -> None:
    big = b'"' + b"x" * (MAX_BODY_BYTES + 1024) + b'"'

    def reply(handler: http.server.BaseHTTPRequestHandler) -> None:
        body = big if handler.path.endswith("/spot/currency_pairs") else TIME_BODY
        answer(handler, 200, body, Content_Type="application/json")

    with serving(reply) as server, GateClient(server.base_url, timeout=5.0) as client:
        with pytest.raises(BadResponseError, match="far larger"):
            client.spot_pairs()
        # The rest of the big body was not left on a pooled connection to be read as the
        # next answer.
        assert client.server_time() == pytest.approx(1_760_000_000.0, abs=60)


def test_the_proxy_the_environment_names_is_used_with_its_credentials(
        sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    def forward(handler: http.server.BaseHTTPRequestHandler) -> None:
        # A plain-http forward proxy: the request line carries the whole URL.
        target = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        data = handler.rfile.read(length) if length else None
        keep = {k: v for k, v in handler.headers.items()
                if k.lower() not in ("proxy-authorization", "connection")}
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=5)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(handler.command, path, body=data, headers=keep)
            reply = upstream.getresponse()
            answer(handler, reply.status, reply.read(),
                   Content_Type=reply.getheader("Content-Type") or "application/json")
        finally:
            upstream.close()

    sim.add_key(KEY, SECRET)
    with serving(forward) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://trader:p%40ss@127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with GateClient(sim.base_url, KEY, SECRET, timeout=5.0) as client:
            ack = client.spot_countdown(60, "BTC_USDT")
        assert ack.trigger_time_ms > 0
        assert [line.split()[1] for line in proxy.lines] == [
            f"{sim.base_url}/spot/time", f"{sim.base_url}/spot/countdown_cancel_all"]
        expected = "Basic " + base64.b64encode(b"trader:p@ss").decode()
        assert all(h.get("proxy-authorization") == expected for h in proxy.headers)

        # NO_PROXY naming the exchange's host: straight there, the proxy sees nothing new.
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with GateClient(sim.base_url, KEY, SECRET, timeout=5.0) as client:
            client.spot_countdown(60, "BTC_USDT")
        assert len(proxy.lines) == 2


def test_a_socks_proxy_without_socks_support_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("socks") is not None:
        pytest.skip("PySocks is installed here")
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with GateClient("http://127.0.0.1:9/api/v4", timeout=1.0) as client, \
            pytest.raises(NetworkError, match="SOCKS"):
        client.server_time()


def test_a_slow_answer_times_out_within_the_budget() -> None:
    release = threading.Event()

    def stall(handler: http.server.BaseHTTPRequestHandler) -> None:
        release.wait(5)
        with contextlib.suppress(OSError):  # the client has long given up
            answer(handler, 200, TIME_BODY)

    with serving(stall) as server:
        try:
            with GateClient(server.base_url, timeout=0.3) as client, \
                    pytest.raises(NetworkError, match=r"within 0\.3 s"):
                client.server_time()
        finally:
            release.set()
