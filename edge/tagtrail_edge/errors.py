"""Errors of the edge agent.

::

    EdgeError                base class
    ├── ConfigError          the configuration file or environment is invalid (names the key)
    ├── OutboxError          the outbox database cannot be opened or written
    └── PublishError         the MQTT link cannot be set up (bad TLS files, bad broker address)

Device errors stay in ``tagtrail_hardware.errors``; drivers report them as device state.
"""


class EdgeError(Exception):
    """Base class of every tagtrail_edge error."""


class ConfigError(EdgeError):
    """Invalid configuration; the message names each bad key, its value and what is allowed."""


class OutboxError(EdgeError):
    """The outbox database cannot be opened, checked or written."""


class PublishError(EdgeError):
    """The MQTT link cannot be configured (TLS files, address)."""
