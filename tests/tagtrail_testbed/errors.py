"""Errors of the test bed.

::

    BedError              base class
    └── ServiceStartError a service did not come up; carries the tail of its log
"""


class BedError(Exception):
    """Base class of every test-bed error."""


class ServiceStartError(BedError):
    """A service process exited or did not become ready in time."""

    def __init__(self, service: str, why: str, log_tail: str) -> None:
        super().__init__(
            f"{service} did not start: {why}\n--- last lines of its log ---\n{log_tail}"
        )
        self.service = service
        self.log_tail = log_tail
