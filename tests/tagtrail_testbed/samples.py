"""Sample wire messages for tests: valid JSON objects a gateway would send."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

BOOT = UUID("0b9a6c1e-4f57-4d2c-9c1a-8d3b2a1f0e11")
T0 = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


def obs_dict(**overrides: Any) -> dict[str, Any]:
    """A valid observation batch as the JSON object a gateway sends."""
    item = {
        "epc": "3074257BF7194E4000001A85",
        "read_point": "dock-3",
        "antenna": 1,
        "event": "arrive",
        "first_seen": "2026-03-14T09:26:53.589793Z",
        "last_seen": "2026-03-14T09:26:55Z",
        "count": 12,
        "peak_rssi_dbm": -61.5,
        "mono_ns": 123_456_789,
        "clock_synced": True,
    }
    batch = {
        "v": "1.0",
        "kind": "obs",
        "gateway": "gate-3",
        "boot_id": str(BOOT),
        "seq": 7,
        "sent_at": "2026-03-14T09:27:00Z",
        "items": [item],
    }
    batch.update(overrides)
    return batch
