"""The batch envelope the gateway wraps around entries it stored as JSON: the very document the
batch model stands for, for any batch (property-based), and refused for what it cannot be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagtrail_protocol import Codec, EncodeError, Kind, ObservationBatch, PositionBatch
from tagtrail_protocol.codec import batch_json
from tagtrail_testbed.strategies import observation_batches, position_batches


@settings(max_examples=200, deadline=None)
@given(batch=st.one_of(observation_batches(), position_batches()))
def test_the_envelope_decodes_to_the_batch_it_wraps(
    batch: ObservationBatch | PositionBatch,
) -> None:
    kind = Kind.OBS if isinstance(batch, ObservationBatch) else Kind.POS
    entries = batch.items if isinstance(batch, ObservationBatch) else batch.fixes
    bodies = [e.model_dump_json(exclude_none=True) for e in entries]
    codec = Codec(compress_above=1000)
    packed = codec.pack_batch(
        kind, gateway=batch.gateway, boot_id=str(batch.boot_id), seq=batch.seq,
        sent_at=batch.sent_at, bodies=bodies,
    )  # fmt: skip
    decoded = codec.decode(packed)
    assert decoded == batch.model_copy(update={"v": decoded.v})


@pytest.mark.parametrize(
    ("kind", "gateway", "boot_id"),
    [
        (Kind.STATUS, "gate-1", "0b9a6c1e-4f57-4d2c-9c1a-8d3b2a1f0e11"),
        (Kind.OBS, 'gate-1","seq":9,"x":"', "0b9a6c1e-4f57-4d2c-9c1a-8d3b2a1f0e11"),
        (Kind.OBS, "gate-1", '0b9a6c1e","seq":"9'),
    ],
)
def test_what_cannot_be_a_batch_envelope_is_refused(kind: Kind, gateway: str, boot_id: str) -> None:
    with pytest.raises((EncodeError, ValueError)):
        batch_json(kind, gateway=gateway, boot_id=boot_id, seq=1,
                   sent_at=datetime.now(UTC), bodies=[])  # fmt: skip
