"""HTTP plumbing: a threaded HTTP/1.1 keep-alive server that hands each request to the gateway.

It knows three things and nothing else of the simulator: the :class:`Platform` to pass to the gateway
(whose clock also dates the answers), the :class:`NetworkModel` to delay them, and :class:`ServerEvents`
to report connections and requests to.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from . import gateway
from .platform_state import Platform

IDLE_TIMEOUT = 120.0  # an abandoned keep-alive connection's thread ends after this
#: The read-only view of the simulator's state (GET); outside /openapi, so never taken for the platform.
STATE_PATH = "/_simulator/state"
#: Query parameters a request log line must not show: the salt is half the appsecret, the sign is a MAC.
_SECRET_PARAMS = re.compile(r"(?i)\b(salt|sign)=[^&\s\"]*")


def redact_secrets(text: str) -> str:
    """``salt=...`` and ``sign=...`` of a logged request line replaced by ``***``."""
    return _SECRET_PARAMS.sub(r"\1=***", text)


@dataclass
class NetworkModel:
    """The simulated network; read at every request, so a change while serving applies to the next one."""

    #: Added to every answer (a network round trip), milliseconds.
    latency_ms: float = 0.0
    #: Added once more to the first answer on each new connection (the TCP handshake), milliseconds.
    connect_latency_ms: float = 0.0
    #: Log requests, and clients hanging up, to stderr.
    verbose: bool = False

    def __post_init__(self) -> None:
        for name in ("latency_ms", "connect_latency_ms"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
            setattr(self, name, float(value))


class ServerEvents(Protocol):
    """What the server reports; called from connection threads concurrently."""

    def connection_accepted(self) -> int:
        """A client connected; returns the id its requests are reported with."""
        ...

    def request_handled(
        self,
        method: str | None,
        sid: str | None,
        reply: gateway.Reply,
        connection_id: int,
        query: dict[str, str],
    ) -> None:
        """One request answered (or dropped: ``reply.drop``); ``method``, ``sid`` as the gateway read them."""
        ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive by default
    server_version = "WdtQjbSimulator/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    wbufsize = 64 * 1024  # headers and body leave in one send; flushed after each request
    answers_sent = 0  # on this connection: the first one pays the simulated handshake

    # connection_id has a default only to fit socketserver's RequestHandlerClass type; Server._work passes it.
    def __init__(self, request: Any, client_address: Any, server: Server, connection_id: int = 0) -> None:
        # Set before the base __init__, which serves the whole connection.
        self.platform, self.network, self.events = server.platform, server.network, server.events
        self.connection_id = connection_id
        super().__init__(request, client_address, server)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # Clients measure clock skew from Date, so it follows the simulated clock.
        return formatdate(self.platform.server_time() if timestamp is None else timestamp, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        if self.network.verbose:
            line = redact_secrets(format % args)
            sys.stderr.write(f"{self.address_string()} - - [{self.log_date_time_string()}] {line}\n")

    def _serve(self) -> None:
        if urlsplit(self.path).path == STATE_PATH:
            self._serve_state()
            return
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or (length_header is None and self.command == "POST"):
            self._write(gateway.Reply(411, gateway.TEXT_TYPE, b"411 Length Required\n"), close=True)
            return
        try:
            length = int(length_header or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._write(gateway.Reply(400, gateway.TEXT_TYPE, b"400 Bad Content-Length\n"), close=True)
            return
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        # The network model: half the round trip before the platform sees the request (plus the
        # handshake on a new connection), half before the answer arrives.
        half_trip = self.network.latency_ms / 2000.0
        handshake = self.network.connect_latency_ms / 1000.0 if self.answers_sent == 0 else 0.0
        self.answers_sent += 1
        self.platform.sleep(half_trip + handshake)
        try:
            reply, method, sid = gateway.process(self.platform, self.command, self.path, content_type, body)
        except Exception:  # a simulator bug: say so loudly rather than hang the client
            traceback.print_exc(file=sys.stderr)
            reply = gateway.Reply(500, gateway.TEXT_TYPE, b"simulator internal error\n")
            method = sid = None
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        self.events.request_handled(method, sid, reply, self.connection_id, query)
        self.platform.sleep(half_trip)
        if reply.drop:
            self.close_connection = True
            return
        self._write(reply)

    def _serve_state(self) -> None:
        view = self.server.state_view  # type: ignore[attr-defined]
        if self.command != "GET" or view is None:
            self._write(gateway.Reply(405 if view else 404, gateway.TEXT_TYPE, b"GET only\n"))
            return
        body = json.dumps(view(), ensure_ascii=False, indent=1).encode()
        self._write(gateway.Reply(200, gateway.JSON_TYPE, body))

    def _write(self, reply: gateway.Reply, close: bool = False) -> None:
        self.send_response(reply.http_status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if close or self.close_connection:  # the latter: the client asked for it
            self.send_header("Connection", "close")  # also sets close_connection
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _serve


class Server(ThreadingHTTPServer):
    """Daemon thread per connection, TCP_NODELAY, and a stop that also ends idle keep-alive connections."""

    daemon_threads = True
    allow_reuse_port = False  # two simulators must never share a port silently

    def __init__(
        self,
        address: tuple[str, int],
        platform: Platform,
        network: NetworkModel,
        events: ServerEvents,
        state_view: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.platform = platform
        #: What GET /_simulator/state answers (None: 404).
        self.state_view = state_view
        self.network = network
        self.events = events
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self._serving: threading.Thread | None = None
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Without this, delayed ACKs add ~40 ms to every small request/response exchange.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        # Counted and numbered here, in the accept loop, so ids follow the order connections came in.
        connection_id = self.events.connection_accepted()
        args = (request, client_address, connection_id)
        worker = threading.Thread(target=self._work, args=args, daemon=True)
        with self._lock:
            self._workers.add(worker)
            self._sockets.add(request)
        worker.start()

    def _work(self, request: Any, client_address: Any, connection_id: int) -> None:
        try:
            _Handler(request, client_address, self, connection_id)  # serves the connection until it ends
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._workers.discard(threading.current_thread())
                self._sockets.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) and not self.network.verbose:
            return  # clients hanging up are normal
        super().handle_error(request, client_address)

    def start_serving(self) -> threading.Thread:
        """Serve in a daemon thread until :meth:`stop`; returns that thread."""
        self.platform.stopping.clear()
        thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.01},  # bounds how long stop() waits
            name="wdt-simulator",
            daemon=True,
        )
        thread.start()
        self._serving = thread
        return thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and join the threads."""
        self.platform.stopping.set()  # wake slow-fault and latency sleeps
        self.shutdown()
        self.server_close()
        self.close_connections(timeout)
        if self._serving is not None:
            self._serving.join(timeout)
            self._serving = None

    def close_connections(self, timeout: float) -> None:
        """End every open connection (idle keep-alive ones block in a read) and join their threads."""
        with self._lock:
            sockets, workers = list(self._sockets), list(self._workers)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(timeout)
