"""An ASGI app served by a real uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tagtrail_testbed.errors import BedError
from tagtrail_testbed.process import free_port


@contextmanager
def serve_api(collector: Any, *, app: str = "app") -> Iterator[str]:
    """Serve ``collector.app()`` (or another of its apps, e.g. ``ops_app``); yields the base
    URL; stops the server on exit."""
    port = free_port()
    config = uvicorn.Config(
        getattr(collector, app)(), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise BedError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
