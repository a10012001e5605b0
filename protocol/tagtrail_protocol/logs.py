"""Log set-up of both programs: one JSON object per line (for the journal), or text.

``[log]`` (:class:`LogSection`) chooses the level and format. Loggers of libraries that keep
their own handlers (uvicorn) are routed through the same one, so a service's journal has one
format; chatty libraries (one line per HTTP request) are held at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from tagtrail_protocol.settings import LogSection


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"[, "error"]}``, one object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(section: LogSection, *, adopt: Iterable[str] = (), quiet: Iterable[str] = ()) -> None:
    """Log to stderr as ``section`` says; ``adopt`` loggers lose their own handlers, ``quiet``
    ones log from WARNING up."""
    handler = logging.StreamHandler(sys.stderr)
    if section.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(section.level)
    for name in adopt:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    for name in quiet:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
