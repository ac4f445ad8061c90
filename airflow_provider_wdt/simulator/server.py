"""HTTP plumbing: a threaded HTTP/1.1 keep-alive server that hands each request to the gateway."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlsplit

from . import gateway

if TYPE_CHECKING:
    from .sim import WdtSimulator

IDLE_TIMEOUT = 120.0  # an abandoned keep-alive connection's thread ends after this


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive by default
    server_version = "WdtQjbSimulator/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    wbufsize = 64 * 1024  # headers and body leave in one send; flushed after each request
    connection_id = 0
    answers_sent = 0  # on this connection: the first one pays the simulated handshake

    @property
    def sim(self) -> WdtSimulator:
        return cast(_Server, self.server).sim

    def setup(self) -> None:
        super().setup()
        self.connection_id = self.sim._next_connection_id()

    def date_time_string(self, timestamp: float | None = None) -> str:
        # Clients measure clock skew from Date, so it follows the simulated clock.
        return formatdate(self.sim.server_time() if timestamp is None else timestamp, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        if self.sim.verbose:
            super().log_message(format, *args)

    def _serve(self) -> None:
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
        half_trip = self.sim.latency_ms / 2000.0
        handshake = self.sim.connect_latency_ms / 1000.0 if self.answers_sent == 0 else 0.0
        self.answers_sent += 1
        self.sim.sleep(half_trip + handshake)
        try:
            reply, method, sid = gateway.process(
                self.sim.platform, self.command, self.path, content_type, body
            )
        except Exception:  # a simulator bug: say so loudly rather than hang the client
            traceback.print_exc(file=sys.stderr)
            reply = gateway.Reply(500, gateway.TEXT_TYPE, b"simulator internal error\n")
            method = sid = None
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        self.sim._record(method, sid, reply, self.connection_id, query)
        self.sim.sleep(half_trip)
        if reply.drop:
            self.close_connection = True
            return
        self._write(reply)

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


class _Server(ThreadingHTTPServer):
    """Daemon thread per connection, TCP_NODELAY, and a stop that also ends idle keep-alive connections."""

    daemon_threads = True
    allow_reuse_port = False  # two simulators must never share a port silently

    def __init__(self, address: tuple[str, int], sim: WdtSimulator) -> None:
        self.sim = sim
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Without this, delayed ACKs add ~40 ms to every small request/response exchange.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sim._count_connection()
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(target=self._work, args=(request, client_address), daemon=True)
        with self._lock:
            self._workers.add(worker)
            self._sockets.add(request)
        worker.start()

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._workers.discard(threading.current_thread())
                self._sockets.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) and not self.sim.verbose:
            return  # clients hanging up are normal
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        """End every open connection (idle keep-alive ones block in a read) and join their threads."""
        with self._lock:
            sockets, workers = list(self._sockets), list(self._workers)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(timeout)
