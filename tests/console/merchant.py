"""A tiny merchant callback receiver on 127.0.0.1: answers `mode` (410 until told otherwise)
and counts the deliveries it acknowledged, per webhook-id."""
import http.server
import threading
from collections import Counter


class Merchant:
    def __init__(self) -> None:
        self.mode = 410
        self.acked: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        # The last request per webhook-id: (webhook-timestamp, webhook-signature, raw body), so
        # a step can verify the signature as a merchant's receiver would.
        self.requests: dict[str, tuple[str, str, bytes]] = {}
        merchant = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                wid = self.headers.get("webhook-id", "")
                merchant.requests[wid] = (self.headers.get("webhook-timestamp", ""),
                                          self.headers.get("webhook-signature", ""), body)
                merchant.received[wid] += 1
                status = merchant.mode
                if 200 <= status < 300:
                    merchant.acked[wid] += 1
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
