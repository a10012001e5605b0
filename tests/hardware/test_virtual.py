"""Virtual serial ports: what a simulator writes, real pyserial reads, byte for byte."""

import pytest
import serial

from tagtrail_hardware.errors import VirtualPortError
from tagtrail_hardware.virtual import VirtualSerialPort


def open_port(port: VirtualSerialPort, baudrate: int = 115200) -> serial.Serial:
    return serial.Serial(port.device_path, baudrate=baudrate, timeout=1.0)


def test_every_byte_value_passes_unchanged(virtual_serial_port: VirtualSerialPort) -> None:
    data = bytes(range(256)) * 4  # includes NUL, XON/XOFF, CR/LF: raw mode translates nothing
    with open_port(virtual_serial_port) as ser:
        virtual_serial_port.write(data)
        assert ser.read(len(data)) == data


def test_driver_writes_reach_the_simulator(virtual_serial_port: VirtualSerialPort) -> None:
    with open_port(virtual_serial_port, baudrate=9600) as ser:
        ser.write(b"\xff\x00\x03\x1d\x0c")
        ser.flush()
        assert virtual_serial_port.read(timeout=1.0) == b"\xff\x00\x03\x1d\x0c"
        ser.baudrate = 115200  # a driver changing speed mid-session, as the Mercury start-up does
        ser.write(b"\r\n")
        assert virtual_serial_port.read(timeout=1.0) == b"\r\n"


def test_large_writes_are_delivered_whole(virtual_serial_port: VirtualSerialPort) -> None:
    data = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n" * 2000
    with open_port(virtual_serial_port) as ser:
        received = bytearray()
        chunk = 4096
        for start in range(0, len(data), chunk):
            virtual_serial_port.write(data[start : start + chunk])
            received += ser.read(len(data[start : start + chunk]))
        assert bytes(received) == data


def test_read_times_out_with_nothing(virtual_serial_port: VirtualSerialPort) -> None:
    assert virtual_serial_port.read(timeout=0.05) == b""


def test_unplug_fails_the_reader_as_a_pulled_cable_does() -> None:
    port = VirtualSerialPort()
    with open_port(port) as ser:
        port.write(b"ok")
        assert ser.read(2) == b"ok"
        port.unplug()
        with pytest.raises(serial.SerialException, match="device disconnected"):
            ser.read(1)
    with pytest.raises(VirtualPortError, match="is closed"):
        port.write(b"late")
