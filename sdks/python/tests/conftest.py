from __future__ import annotations

import json
import os
import queue
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

KEY_A = "sk_demo_tenant_a_4f9c2b7e1d8a6350"
SECRET_A = "whsec_deNBX1rNhVB82yDA0ttry1Yakpbc3sfy"
ASAAS_TOKEN_A = "demo-asaas-token-tenant-a-3b8f1d6e9c2a"

PIX = {
    "amount": 1990,
    "currency": "BRL",
    "method": "pix",
    "customer": {"name": "Maria Souza", "document": "52998224725"},
}
CARD = {
    "amount": 1000,
    "currency": "BRL",
    "method": "card",
    "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_1"}},
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def api_url() -> str:
    url = os.environ.get("ORCH_API_URL")
    if not url:
        pytest.skip("ORCH_API_URL not set: no dev server to test against")
    return url.rstrip("/")


# --- a local endpoint that receives callbacks -------------------------------------------------


class Received:
    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        self.body = body
        self.headers = headers

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class CallbackServer:
    def __init__(self) -> None:
        self.inbox: queue.Queue[Received] = queue.Queue()
        inbox = self.inbox

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(n)
                inbox.put(Received(body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, event_type: str, payment_id: str, timeout: float = 15.0) -> Received:
        """The first received callback of that type for that payment (others are kept aside)."""
        import time

        deadline = time.monotonic() + timeout
        aside: list[Received] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {event_type} callback for {payment_id}")
                try:
                    r = self.inbox.get(timeout=left)
                except queue.Empty:
                    continue
                body = r.json
                data = body.get("data", {})
                pid = data.get("id") if event_type.startswith("payment.") else data.get("payment_id")
                if body.get("type") == event_type and pid == payment_id:
                    return r
                aside.append(r)
        finally:
            for r in aside:
                self.inbox.put(r)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def callback_server() -> Iterator[CallbackServer]:
    s = CallbackServer()
    yield s
    s.close()


# --- a TCP proxy in front of the dev server that misbehaves on its first connection ------------


def _read_http_message(sock: socket.socket, buf: bytes = b"") -> tuple[bytes, bytes]:
    """Reads one HTTP/1.1 message (headers + Content-Length body). Returns (message, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("peer closed mid-message")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("peer closed mid-body")
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def _reset(sock: socket.socket) -> None:
    """Closes with RST instead of FIN: the client sees 'connection reset', no answer."""
    import struct

    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultProxy:
    """Listens on a local port; the first connection gets ``fault``, later ones are piped to
    the upstream dev server byte for byte.

    fault: ``reset`` (read the request, reset without answering and without forwarding),
    ``forward_then_reset`` (forward it, let the server answer, drop the answer and reset: the
    server did the work but the client never learns it), ``503`` (answer 503
    dependency_unavailable), ``hang`` (never answer).
    """

    def __init__(self, upstream: str, fault: str) -> None:
        u = urlsplit(upstream)
        self.upstream = (u.hostname or "127.0.0.1", u.port or 80)
        self.fault = fault
        self.connections = 0
        self.faulted_requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._hung: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            first = self.connections == 1
            threading.Thread(target=self._serve, args=(conn, first), daemon=True).start()

    def _serve(self, conn: socket.socket, first: bool) -> None:
        try:
            if first and self.fault != "none":
                request, _ = _read_http_message(conn)
                self.faulted_requests.append(request)
                if self.fault == "reset":
                    _reset(conn)
                    return
                if self.fault == "hang":
                    self._hung.append(conn)
                    return
                if self.fault == "503":
                    body = json.dumps(
                        {
                            "error": {
                                "type": "internal",
                                "code": "dependency_unavailable",
                                "message": "a store is unavailable (injected by the test proxy)",
                            }
                        }
                    ).encode()
                    conn.sendall(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                        b"retry-after: 0\r\nconnection: close\r\ncontent-length: "
                        + str(len(body)).encode()
                        + b"\r\n\r\n"
                        + body
                    )
                    conn.close()
                    return
                if self.fault == "forward_then_reset":
                    up = socket.create_connection(self.upstream)
                    up.sendall(request)
                    _read_http_message(up)  # the server's answer, thrown away
                    up.close()
                    _reset(conn)
                    return
            self._pipe(conn)
        except OSError:
            try:
                conn.close()
            except OSError:
                pass

    def _pipe(self, conn: socket.socket) -> None:
        up = socket.create_connection(self.upstream)

        def one_way(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=one_way, args=(up, conn), daemon=True)
        t.start()
        one_way(conn, up)
        t.join(timeout=5)
        conn.close()
        up.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        for s in self._hung:
            s.close()


@pytest.fixture
def fault_proxy() -> Iterator[Any]:
    made: list[FaultProxy] = []

    def make(upstream: str, fault: str) -> FaultProxy:
        p = FaultProxy(upstream, fault)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
