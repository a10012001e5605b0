"""Errors of the device layer.

::

    HardwareError              base class
    ├── VirtualPortError       a virtual serial port could not be created or used
    ├── DeviceError            a serial device cannot be opened, read or written (pyserial, OSError)
    ├── DeviceTimeout          a device did not answer a command in time
    ├── ReaderError            a reader answered a command with a non-zero status word
    └── ParseError             bytes that are not a valid frame, line or sentence (``.reason``)

``ParseError`` is raised only by the ``parse_*`` helpers; the streaming decoders count rejects
by reason instead of raising, so that garbage never stops a stream.
"""


class HardwareError(Exception):
    """Base class of every tagtrail_hardware error."""


class VirtualPortError(HardwareError):
    """A virtual serial port (pty pair) could not be created or used."""


class DeviceError(HardwareError):
    """A serial device could not be opened, read or written (unplugged, no permission...)."""


class DeviceTimeout(HardwareError):
    """A device did not answer a command within the allowed time."""


class ReaderError(HardwareError):
    """A reader refused a command: ``status`` is its 16-bit status word."""

    def __init__(self, opcode: int, status: int, message: str = "") -> None:
        self.opcode = opcode
        self.status = status
        super().__init__(
            f"reader refused opcode 0x{opcode:02X} with status 0x{status:04X}"
            + (f": {message}" if message else "")
        )


class ParseError(HardwareError):
    """Bytes that do not parse; ``reason`` is a stable code (e.g. ``bad-checksum``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
