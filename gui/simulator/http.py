"""The HTTP stage: where a request enters the simulator, and the order it then goes through.

A ``ThreadingHTTPServer`` speaking HTTP/1.1 keep-alive (``requests.Session`` and the SDK's urllib3
pool reuse connections), each connection on a thread of its own that ``Simulator.stop()`` ends.

A request under ``/api/v4`` goes through, in order: the request log, faults (latency first, then
the first matching non-latency rule), routing, authentication, permissions, the rate limit, the
endpoint. The control API under ``/_sim`` is never faulted, logged or rate limited.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import secrets
import selectors
import socket
import socketserver
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from gui.simulator.api import (
    API_PREFIX,
    CONTROL_PREFIX,
    ApiError,
    ApiRequest,
    describe_request,
    find_route,
)
from gui.simulator.auth import authenticate
from gui.simulator.exchange import SIM_USER_ID, RateWindow, RequestRecord
from gui.simulator.faults import NGINX_PAGE, PROCESSED_FIRST, Fault, FaultRule, fitting_label

if TYPE_CHECKING:
    from gui.simulator.server import Simulator

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_loopback
    except ValueError:
        return False


class SimHTTPServer(ThreadingHTTPServer):
    # Handler threads are tracked and released by Simulator.stop(); server_close must not
    # wait for keep-alive connections that clients leave open.
    block_on_close = False
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.handler_threads: set[threading.Thread] = set()
        self.tracking_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        # stop_serving writes here to wake the accept loop, which otherwise sleeps until a
        # connection comes (serve_forever polls, waking the simulator 20 times a second).
        self._wake_reader, self._wake_writer = socket.socketpair()

    def serve_until_stopped(self) -> None:
        """Accept connections, each served on a thread of its own, until :meth:`stop_serving`."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is self._wake_reader for key, _ in ready):
                    return
                self._accept_one()

    def _accept_one(self) -> None:
        # What serve_forever does for each connection (socketserver's _handle_request_noblock).
        try:
            request, client_address = self.get_request()
        except OSError:
            return
        try:
            self.process_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def stop_serving(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_one, args=(request, client_address),
                                  name="simulator-http", daemon=True)
        with self.tracking_lock:
            self.handler_threads.add(thread)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.tracking_lock:
                self.handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish mid-answer are normal here (timeouts, faults); keep stderr quiet.
        log.debug("simulator: error serving %s", client_address, exc_info=True)

    def kick_connections(self) -> None:
        """Wake every handler blocked on a keep-alive connection, so it ends at once."""
        with self.tracking_lock:
            connections = list(self.connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    server: SimHTTPServer
    # An idle keep-alive connection is closed after this; stop() closes them at once anyway.
    timeout = 120
    # Set for one answer by a ``drip`` fault.
    _drip: FaultRule | None = None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle on, the body waits for the client's
        # delayed ACK (~40 ms a request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.tracking_lock:
            self.server.connections.add(self.connection)
        if self.server.simulator.stopping.is_set():
            # Accepted just before stop() kicked the others: end it the same way.
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.tracking_lock:
                self.server.connections.discard(self.connection)

    def version_string(self) -> str:
        # Gate answers from behind nginx; no Python version in the Server header.
        return self.server_version

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        # The stdlib answers malformed requests with an HTML page; Gate's errors are JSON.
        reason = self.responses.get(code, ("Error",))[0]
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Connection", "close")
        body = json.dumps({"label": "NOT_FOUND" if code == 501 else fitting_label(code),
                           "message": message or reason}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: %s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    # -- plumbing ------------------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            self._dispatch()
        except ConnectionError:  # the client left (timeout, reset): nobody to answer
            self.close_connection = True

    def _dispatch(self) -> None:
        sim = self.server.simulator
        in_time_us = int(sim.server_time() * 1_000_000)
        mono = time.monotonic()
        split = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        if split.path == CONTROL_PREFIX or split.path.startswith(CONTROL_PREFIX + "/"):
            self._control(split.path, body)
        elif split.path.startswith(API_PREFIX + "/"):
            self._api(split.path, split.query, body, in_time_us, mono)
        else:
            self._send_json(404, {"label": "NOT_FOUND", "message": f"{split.path} not found"},
                            self._gate_headers(in_time_us))

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._send_json(411, {"label": "BAD_REQUEST", "message": "send a Content-Length"})
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send_json(400, {"label": "BAD_REQUEST", "message": "bad Content-Length"})
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str | None,
              headers: dict[str, str] | None = None) -> None:
        drip, self._drip = self._drip, None
        if drip is not None:
            self._send_dripping(drip, status, body, content_type, headers or {})
            return
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any,
                   headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _gate_headers(self, in_time_us: int) -> dict[str, str]:
        headers = {"X-Gate-Trace-ID": secrets.token_hex(16), "X-In-Time": str(in_time_us)}
        request_id = self.headers.get("X-Client-Request-Id")
        if request_id:
            headers["X-Client-Request-Id"] = request_id
        return headers

    def _send_dripping(self, rule: FaultRule, status: int, body: bytes,
                       content_type: str | None, headers: dict[str, str]) -> None:
        """The whole answer, status line first, ``rate_bps`` bytes a second: every read
        brings a byte, so a timeout per read never fires. Cleared, the rest goes at once."""
        reason = self.responses.get(status, ("",))[0]
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        self.close_connection = True
        try:
            for i in range(len(raw)):
                if rule.released.wait(1.0 / rule.rate_bps):
                    self.wfile.write(raw[i:])
                    break
                self.wfile.write(raw[i:i + 1])
                self.wfile.flush()
        except OSError:
            pass  # the client gave up on it, as it should

    def _drop(self) -> None:
        """Close with a TCP reset and no answer, like a middlebox that gives up."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            # rfile holds a reference to the socket; the reset goes out when it is released.
            self.rfile.close()
        except OSError:
            pass

    # -- the API -------------------------------------------------------------------------------

    def _api(self, raw_path: str, raw_query: str, body: bytes, in_time_us: int,
             mono: float) -> None:
        sim = self.server.simulator
        path = raw_path[len(API_PREFIX):]
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        scope, timeout = describe_request(self.command, path, query, body)
        record = RequestRecord(self.command, path, scope, timeout, in_time_us // 1000, mono)
        sim.exchange.log_request(record)

        latency_ms, rule = sim.faults.pick(path, scope)
        if latency_ms and sim.stopping.wait(latency_ms / 1000):
            self._drop()
            return
        gate_headers = self._gate_headers(in_time_us)
        if rule is not None and rule.kind not in PROCESSED_FIRST:
            self._apply_fault(rule, record, gate_headers, path)
            return

        req = ApiRequest(
            method=self.command, raw_path=raw_path, path=path, raw_query=raw_query, query=query,
            body=body, headers={k.lower(): v for k, v in self.headers.items()},
            client_ip=str(self.client_address[0]))
        status, payload, window = self._process(req)
        gate_headers.update(_rate_headers(window))
        gate_headers["X-Out-Time"] = str(int(sim.server_time() * 1_000_000))
        sim.exchange.set_request_status(record, status)
        if rule is not None and rule.kind is Fault.ANSWER:
            # The exchange acted; what comes back is the rule's, byte for byte.
            sim.exchange.set_request_status(record, rule.status or 200)
            self._send(rule.status or 200, rule.body.encode(),
                       "application/json" if rule.body else None, gate_headers)
            return
        self._send_json(status, payload, gate_headers)

    def _process(self, req: ApiRequest) -> tuple[int, Any, RateWindow]:
        sim = self.server.simulator
        found = find_route(req.method, req.path)
        identity = f"ip:{req.client_ip}"
        endpoint = f"{req.method} {req.path if found is None else found[0].template}"
        try:
            if found is None:
                raise ApiError(404, "NOT_FOUND", f"{req.method} {req.path} not found")
            route, req.params = found
            if route.private:
                key = authenticate(req, sim.key_grants(), sim.server_time())
                # Gate counts per account (UID), so every key of the one account shares it.
                identity = f"uid:{SIM_USER_ID}"
                permission = sim.key_grants()[key].permission(route.product)
                if permission == "none":
                    raise ApiError(403, "FORBIDDEN",
                                   f"this key has no permission for {route.product}")
                if permission == "r" and req.method != "GET":
                    raise ApiError(403, "READ_ONLY",
                                   f"this key is read-only for {route.product}")
            window = sim.exchange.take_rate(identity, endpoint, count=True)
            if not window.allowed:
                return 429, {"label": "TOO_MANY_REQUESTS",
                             "message": "Request Rate limit Exceeded"}, window
            return 200, route.handler(sim.api, req), window
        except ApiError as exc:
            error = exc
        except Exception:
            log.exception("simulator: %s %s failed", req.method, req.path)
            error = ApiError(500, "INTERNAL", "internal error")
        window = sim.exchange.take_rate(identity, endpoint, count=False)
        return error.status, {"label": error.label, "message": error.message}, window

    def _apply_fault(self, rule: FaultRule, record: RequestRecord, gate_headers: dict[str, str],
                     path: str) -> None:
        sim = self.server.simulator
        status = rule.status or 502
        if rule.kind is Fault.DROP:
            self._drop()
        elif rule.kind is Fault.HANG:
            # Released by clearing the rule or stopping the simulator; then close, no answer.
            rule.released.wait(rule.hang_s)
            self.close_connection = True
        elif rule.kind is Fault.STATUS:
            sim.exchange.set_request_status(record, status)
            gate_headers["X-Out-Time"] = str(int(sim.server_time() * 1_000_000))
            self._send_json(status, {"label": rule.label or fitting_label(status),
                                     "message": f"simulated fault {rule.id} on {path}"},
                            gate_headers)
        elif rule.kind is Fault.HTML:
            # A proxy's page, not Gate's: none of Gate's headers.
            sim.exchange.set_request_status(record, status)
            reason = self.responses.get(status, ("Error",))[0]
            page = NGINX_PAGE.format(status=status, reason=reason).encode()
            self._send(status, page, "text/html")
        elif rule.kind is Fault.DRIP:
            status = rule.status or (200 if rule.body else 503)
            sim.exchange.set_request_status(record, status)
            self._drip = rule
            self._send(status, (rule.body or '{"label":"SERVER_ERROR","message":"stalled"}')
                       .encode(), "application/json", gate_headers)
        else:  # Fault.EMPTY
            sim.exchange.set_request_status(record, status)
            self._send(status, b"", None)

    # -- the control API -----------------------------------------------------------------------

    def _control(self, path: str, body: bytes) -> None:
        if not _is_loopback(str(self.client_address[0])):
            self._send_json(403, {"label": "FORBIDDEN", "message": "control API is loopback only"})
            return
        sim = self.server.simulator
        route = f"{self.command} {path.removeprefix(CONTROL_PREFIX) or '/'}"
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            data = None
        try:
            if route == "GET /state":
                self._send_json(200, sim.state())
            elif route == "GET /faults":
                self._send_json(200, sim.faults.to_json())
            elif route == "POST /faults":
                if not isinstance(data, dict):
                    raise ValueError("body must be a JSON object")
                unknown = set(data) - {"kind", "count", "path", "scope", "status", "label",
                                       "latency_ms", "hang_s", "body", "rate_bps"}
                if unknown:
                    raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
                if "kind" not in data:
                    raise ValueError("kind is required")
                options = {k: v for k, v in data.items() if k != "kind" and v is not None}
                self._send_json(200, {"id": sim.add_fault(data["kind"], **options)})
            elif route == "DELETE /faults":
                self._send_json(200, {"cleared": sim.faults.clear()})
            elif route.startswith("DELETE /faults/"):
                fault_id = int(route.removeprefix("DELETE /faults/"))
                cleared = sim.faults.clear(fault_id)
                if not cleared:
                    self._send_json(404, {"label": "NOT_FOUND",
                                          "message": f"no fault {fault_id}"})
                else:
                    self._send_json(200, {"cleared": cleared})
            elif route == "POST /clock":
                skew = data.get("skew_s") if isinstance(data, dict) else None
                if isinstance(skew, bool) or not isinstance(skew, int | float):
                    raise ValueError("skew_s must be a number of seconds")
                sim.set_clock_skew(float(skew))
                self._send_json(200, {"clock_skew_s": float(skew),
                                      "server_time_ms": sim.exchange.server_time_ms()})
            elif route == "POST /orders":
                if not isinstance(data, dict):
                    raise ValueError("body must be a JSON object")
                self._send_json(200, sim.place_order(
                    str(data.get("product", "")), str(data.get("market", "")),
                    side=str(data.get("side", "buy")), amount=str(data.get("amount", "1")),
                    price=str(data.get("price", "1"))))
            else:
                self._send_json(404, {"label": "NOT_FOUND", "message": f"{route} not found"})
        except (ValueError, TypeError) as exc:
            self._send_json(400, {"label": "INVALID_PARAM_VALUE", "message": str(exc)})


def _rate_headers(window: RateWindow) -> dict[str, str]:
    return {
        "X-Gate-RateLimit-Requests-Remain": str(window.remaining),
        "X-Gate-RateLimit-Limit": str(window.limit),
        "X-Gate-RateLimit-Reset-Timestamp": str(window.reset_ms),
    }
