"""Errors of the device layer.

::

    HardwareError          base class
    └── VirtualPortError   a virtual serial port could not be created or used
"""


class HardwareError(Exception):
    """Base class of every tagtrail_hardware error."""


class VirtualPortError(HardwareError):
    """A virtual serial port (pty pair) could not be created or used."""
