"""Runs moto's own server application (the one behind `moto_server`) one request at a time.

Why not plain `moto_server`: it serves requests on many threads, and moto's DynamoDB backend
evaluates a ConditionExpression and then writes without a lock, so two concurrent conditional
writes to one item can both succeed there. Real DynamoDB applies conditional writes to an item
atomically. Serving one request at a time restores that guarantee, which the idempotency tests
(50 concurrent requests with one key) depend on. Everything else is moto as shipped.

usage: python infra/moto_serial.py PORT
"""

import signal
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    port = int(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
