"""What a shipment's identifier is, whatever way it was spelled (pure: no I/O).

A carrier attaches EPCs and/or an SSCC to a shipment. An SSCC and every EPC that encodes it are
one identifier (a tag's EPC links to the shipment of the SSCC it carries), so an EPC of the
SSCC-96 scheme is reduced to its SSCC here, per the GS1 Tag Data Standard; any other EPC is
itself. One identifier is attached to one shipment at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_SSCC96_HEADER: Final = 0x31
# TDS 2.x table 14-6 (SSCC partition table): company prefix bits/digits, serial reference
# bits/digits, by partition value.
_SSCC_PARTITIONS: Final = {
    0: (40, 12, 18, 5), 1: (37, 11, 21, 6), 2: (34, 10, 24, 7), 3: (30, 9, 28, 8),
    4: (27, 8, 31, 9), 5: (24, 7, 34, 10), 6: (20, 6, 38, 11),
}  # fmt: skip


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of ``digits`` (weights 3, 1, 3... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def sscc_is_valid(sscc: str) -> bool:
    """18 digits whose last one is the GS1 check digit of the first 17."""
    return len(sscc) == 18 and sscc.isdigit() and gs1_check_digit(sscc[:17]) == int(sscc[17])


def sscc_of_epc(epc_hex: str) -> str | None:
    """The SSCC an SSCC-96 EPC encodes; None for any other EPC (or an invalid SSCC-96)."""
    value = _sscc96_bits(epc_hex)
    partition = None if value is None else (value >> 82) & 0b111
    if value is None or partition not in _SSCC_PARTITIONS:
        return None
    cp_bits, cp_digits, sr_bits, sr_digits = _SSCC_PARTITIONS[partition]
    body = value >> 24
    serial = body & ((1 << sr_bits) - 1)
    company = (body >> sr_bits) & ((1 << cp_bits) - 1)
    if company >= 10**cp_digits or serial >= 10**sr_digits:
        return None
    company_text, serial_text = f"{company:0{cp_digits}d}", f"{serial:0{sr_digits}d}"
    first17 = serial_text[0] + company_text + serial_text[1:]
    return first17 + str(gs1_check_digit(first17))


def _sscc96_bits(epc_hex: str) -> int | None:
    """The EPC as an integer if it is 96 bits with the SSCC-96 header and zero reserved bits."""
    if len(epc_hex) != 24 or not all(c in "0123456789abcdefABCDEF" for c in epc_hex):
        return None
    value = int(epc_hex, 16)
    if value >> 88 != _SSCC96_HEADER or value & ((1 << 24) - 1):
        return None
    return value


@dataclass(frozen=True, slots=True)
class ShipmentIdentifier:
    """One identifier as attached: an EPC (with the SSCC it encodes, if any) or an SSCC."""

    epc: str | None
    sscc: str | None

    @property
    def key(self) -> str:
        """What is unique among attached identifiers: the SSCC when there is one."""
        return f"sscc:{self.sscc}" if self.sscc is not None else f"epc:{self.epc}"

    @classmethod
    def of_epc(cls, epc_hex: str) -> ShipmentIdentifier:
        epc = epc_hex.upper()
        return cls(epc, sscc_of_epc(epc))

    @classmethod
    def of_sscc(cls, sscc: str) -> ShipmentIdentifier:
        return cls(None, sscc)


def identifiers(epcs: list[str], sscc: str | None) -> list[ShipmentIdentifier]:
    """A registration's identifiers, one per key (an EPC encoding the SSCC given is the same)."""
    found: dict[str, ShipmentIdentifier] = {}
    if sscc is not None:
        found[f"sscc:{sscc}"] = ShipmentIdentifier.of_sscc(sscc)
    for epc in epcs:
        ident = ShipmentIdentifier.of_epc(epc)
        found.setdefault(ident.key, ident)
    return list(found.values())
