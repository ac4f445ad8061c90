"""A tiny local stand-in for the user's own shop platform, for the stock-sync example and ``make demo``.

Shipped in the package beside the simulator, so that an installed provider is enough to try the complete
workflow (``example_wdt_stock_sync``, from the repository) against the two of them.

``POST /stock`` with ``{"rec_id": ..., "spec_outer_id": ..., "stock": ...}`` stores the quantity and
answers 200, or - for a deterministic subset, every rec_id divisible by 7 by default - refuses it with
409, so that both syncSuccess and syncFail get exercised. ``GET /stock`` returns everything stored.

    with ShopStandin() as shop:        # serves on shop.url (127.0.0.1, a free port) in a thread
        ...
        shop.accepted, shop.rejected   # rec_id -> quantity; rec_ids refused

Or on its own: ``python -m airflow_provider_wdt.simulator.shop --port 8651``, then
``export WDT_EXAMPLE_SHOP_URL=http://127.0.0.1:8651``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def reject_every_seventh(rec_id: int) -> bool:
    """The demo's rejection rule: rec_ids divisible by 7 are refused."""
    return rec_id % 7 == 0


class ShopStandin:
    """The shop platform's stock endpoint, in a thread; ``with ShopStandin() as shop:`` serves on shop.url."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        reject: Callable[[int], bool] = reject_every_seventh,
    ) -> None:
        self.host = host
        self.port = port
        self.reject = reject
        self.accepted: dict[int, Any] = {}  # rec_id -> last quantity stored
        self.rejected: set[int] = set()
        self.push_count = 0
        #: When set, every push is answered with this HTTP status (a shop in maintenance: 503).
        self.down_status: int | None = None
        #: Seconds each push takes (a shop's own latency; the benchmarks set it).
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def push(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Handle one push: ``(http_status, answer)``."""
        if self.delay:
            time.sleep(self.delay)
        if self.down_status is not None:
            return self.down_status, {"ok": False, "error": "shop stand-in is down"}
        if not isinstance(body, dict):
            return 400, {"ok": False, "error": "expected a JSON object"}
        rec_id, stock = body.get("rec_id"), body.get("stock")
        if isinstance(rec_id, bool) or not isinstance(rec_id, int) or stock is None:
            return 400, {"ok": False, "error": "rec_id (an integer) and stock are required"}
        with self._lock:
            self.push_count += 1
            if self.reject(rec_id):
                self.rejected.add(rec_id)
                return 409, {"ok": False, "error": f"rec_id {rec_id} refused by the stand-in shop"}
            self.accepted[rec_id] = stock
            self.rejected.discard(rec_id)
        return 200, {"ok": True}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "push_count": self.push_count,
                "accepted": {str(k): v for k, v in self.accepted.items()},
                "rejected": sorted(self.rejected),
            }

    def start(self) -> ShopStandin:
        if self._server is not None:
            raise RuntimeError("shop stand-in already started")
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="shop-standin",
            daemon=True,  # never keeps a process alive; stop() joins it
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close the open connections and join every thread; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections(timeout)
        thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> ShopStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    block_on_close = False  # close_connections() joins the connection threads instead

    def __init__(self, address: tuple[str, int], shop: ShopStandin) -> None:
        self.shop = shop
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="shop-standin-conn",
            daemon=True,
        )
        with self._open_lock:
            self._open[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client hanging up is not worth a traceback
            super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        with self._open_lock:
            open_now = list(self._open.items())
        for sock, _ in open_now:
            with contextlib.suppress(OSError):  # it may be closed already
                sock.shutdown(socket.SHUT_RDWR)  # wakes a handler waiting for the next keep-alive request
        for _, thread in open_now:
            thread.join(timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per requests.Session
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # always: keep-alive framing
        if self.path.rstrip("/") != "/stock":
            self._answer(404, {"ok": False, "error": "not found"})
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._answer(400, {"ok": False, "error": "body is not JSON"})
            return
        self._answer(*self.server.shop.push(body))

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/stock":
            self._answer(404, {"ok": False, "error": "not found"})
            return
        self._answer(200, self.server.shop.snapshot())

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo counts, it does not log
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_wdt.simulator.shop", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8651, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="time each push takes (a real shop's)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ShopStandin(args.host, args.port) as shop:
        shop.delay = args.delay_ms / 1000.0
        print(f"Shop stand-in listening on {shop.url} (refuses every rec_id divisible by 7)", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
