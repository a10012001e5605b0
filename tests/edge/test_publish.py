"""Publisher choices that need no broker: the live/backlog lanes and the batch JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from tagtrail_edge.outbox import Outbox, OutboxSettings
from tagtrail_edge.publish import LinkSettings, Publisher, _batch_json
from tagtrail_protocol import Codec, GatewayState, ObservationBatch, ObservationItem, Status
from tagtrail_testbed.samples import obs_dict


def publisher(tmp_path: Path) -> Publisher:
    outbox = Outbox.open(OutboxSettings(path=tmp_path / "o.db"))
    boot = uuid.uuid4()

    def status(state: GatewayState) -> Status:
        return Status(gateway="gate-1", boot_id=boot, time=datetime.now(UTC), state=state)

    return Publisher(settings=LinkSettings(), site="port-rtm", gateway="gate-1", boot_id=boot,
                     outbox=outbox, status=status)  # fmt: skip


def test_live_data_is_not_starved_by_a_backlog(tmp_path: Path) -> None:
    p = publisher(tmp_path)
    backlog = list(range(1, 1001))
    first = p._alternate(backlog[:4], backlog[::-1][:4])
    second = p._alternate(backlog[:4], backlog[::-1][:4])
    assert first[:2] == [1000, 1]  # newest, oldest...
    assert second[:2] == [1, 1000]  # ...and the lanes take turns leading
    assert sorted(first) == [1, 2, 3, 4, 997, 998, 999, 1000]
    assert sorted(p._alternate([1, 2], [2, 1])) == [1, 2]  # a short outbox: each batch once


def test_batch_json_from_stored_bodies_decodes(tmp_path: Path) -> None:
    item = obs_dict()["items"][0]
    body = ObservationItem.model_validate(item).model_dump_json(exclude_none=True)
    boot = str(uuid.uuid4())
    batch = Codec().decode(_batch_json("obs", "gate-1", boot, 7, (body, body)))
    assert isinstance(batch, ObservationBatch)
    assert (str(batch.boot_id), batch.seq, len(batch.items)) == (boot, 7, 2)
