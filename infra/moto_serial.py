"""Runs moto's own server application (the one behind `moto_server`) one request at a time.

Why not plain `moto_server`: it serves requests on many threads, and moto's DynamoDB backend
evaluates a ConditionExpression and then writes without a lock, so two concurrent conditional
writes to one item can both succeed there. Real DynamoDB applies conditional writes to an item
atomically. Serving one request at a time restores that guarantee, which the idempotency tests
(50 concurrent requests with one key) depend on. Everything else is moto as shipped.

usage: python infra/moto_serial.py PORT [--keep-alive]

--keep-alive serves HTTP/1.1 with persistent connections (one thread per connection, the app
still one request at a time under a lock), as AWS endpoints do. werkzeug's server closes every
connection, so each SDK request would open a new TCP connection; the CPU measurements of the
Lambda binaries (infra/coldstart.py) use this mode so that cost is not counted as theirs. The
test suite uses the default (werkzeug, as moto ships it).
"""

import io
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def keep_alive_server(port: int, app) -> ThreadingHTTPServer:
    """A minimal HTTP/1.1 WSGI server: persistent connections, one app call at a time."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # TCP_NODELAY, as the SDK's side sets it

        def log_message(self, *args) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            environ = {
                "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": path,
                "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port),
                "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": self.client_address[0],
                "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            for name, value in self.headers.items():
                key = "HTTP_" + name.upper().replace("-", "_")
                if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                    environ[key] = value if key not in environ else environ[key] + "," + value
            status_headers = []

            def start_response(status, headers, exc_info=None):
                status_headers[:] = [status, headers]

            with lock:
                out = b"".join(app(environ, start_response))
            status, headers = status_headers
            head = [f"HTTP/1.1 {status}"]
            head += [f"{k}: {v}" for k, v in headers
                     if k.lower() not in ("content-length", "connection", "transfer-encoding")]
            head.append(f"Content-Length: {len(out)}")
            # status line, headers and body in one write
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                             + (out if self.command != "HEAD" else b""))

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    port = int(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    if "--keep-alive" in sys.argv[2:]:
        keep_alive_server(port, app).serve_forever()
        return
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
