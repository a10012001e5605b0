"""10,000 malformed MQTT payloads of every kind: each is dead-lettered, counted under its reason
and kept byte for byte, while the valid batches sent between them are stored and acked."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from tagtrail_collector.ingest.decode import KEEP_OF_TOO_LARGE
from tagtrail_collector.service import Collector
from tagtrail_protocol import Ack, ObservationBatch
from tagtrail_testbed.gateway import T0, FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.waiting import wait_for

MAX_PAYLOAD = 64 * 1024
SITE, GATEWAY = "port-a", "gate-9"
OWN = f"tagtrail/v1/{SITE}/{GATEWAY}"
Bad = tuple[str, bytes, str]  # topic, payload, the reason it must be dead-lettered under


def valid_batch(rnd: random.Random) -> dict[str, Any]:
    batch = ObservationBatch(
        gateway=GATEWAY,
        boot_id=UUID("6f1c2a4e-0d8b-4b8e-9a55-2f7d3c1e9b10"),
        seq=rnd.randint(1, 10**6),
        sent_at=T0,
        items=tuple(
            item(f"3034{rnd.getrandbits(80):020X}", at=T0 + timedelta(seconds=i)) for i in range(3)
        ),
    )
    out: dict[str, Any] = json.loads(batch.model_dump_json(exclude_none=True))
    return out


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def garbage(rnd: random.Random) -> Bad:
    data = rnd.randbytes(rnd.randint(0, 300))
    if data[:1] in (b"{", b"x") or data[:1].isspace():
        data = b"#" + data  # neither a JSON object nor a zlib stream
    return f"{OWN}/obs", data, "malformed"


def truncated(rnd: random.Random) -> Bad:
    data = dumps(valid_batch(rnd))
    return f"{OWN}/obs", data[: rnd.randint(0, len(data) - 1)], "malformed"


def not_an_object(rnd: random.Random) -> Bad:
    value = rnd.choice([[], [1, 2], "obs", 42, None, True])
    return f"{OWN}/obs", dumps(value), "malformed"


def bad_zlib(rnd: random.Random) -> Bad:
    return f"{OWN}/obs", b"\x78" + rnd.randbytes(rnd.randint(0, 200)), "malformed"


def bad_version(rnd: random.Random) -> Bad:
    obj = valid_batch(rnd)
    choice = rnd.choice(["9.0", "", "one", None, 1.0, "drop"])
    if choice == "drop":
        del obj["v"]
    else:
        obj["v"] = choice
    return f"{OWN}/obs", dumps(obj), "bad_version"


def unknown_kind(rnd: random.Random) -> Bad:
    obj = valid_batch(rnd)
    choice = rnd.choice(["shipment", "", 7, None, "drop"])
    if choice == "drop":
        del obj["kind"]
    else:
        obj["kind"] = choice
    return f"{OWN}/obs", dumps(obj), "unknown_kind"


def invalid(rnd: random.Random) -> Bad:
    obj = valid_batch(rnd)
    target = rnd.choice(["epc", "seq", "items", "boot_id", "antenna", "time", "count", "lat"])
    first = obj["items"][0]
    if target == "epc":
        first["epc"] = rnd.choice(["XYZ", "", "30 34", "g" * 24, "F" * 200])
    elif target == "seq":
        obj["seq"] = rnd.choice([-1, "one", None, 2**70])
    elif target == "items":
        obj["items"] = rnd.choice([None, "many", {"a": 1}])
    elif target == "boot_id":
        obj["boot_id"] = "not-a-uuid"
    elif target == "antenna":
        first["antenna"] = rnd.choice([-1, "left", 10**6])
    elif target == "time":
        first["first_seen"] = rnd.choice(["yesterday", "2026-13-45T00:00:00Z", 1e30])
    elif target == "count":
        first["count"] = rnd.choice([-5, "many"])
    else:
        first["position"] = {"lat": rnd.choice([91.0, -200.0]), "lon": 4.0, "fix_age_s": 1.0}
    return f"{OWN}/obs", dumps(obj), "invalid"


def wrong_topic(rnd: random.Random) -> Bad:
    obj = valid_batch(rnd)
    choice = rnd.randrange(3)
    if choice == 0:
        return f"{OWN}/pos", dumps(obj), "topic_mismatch"  # observations on the position topic
    if choice == 1:
        return f"tagtrail/v1/{SITE}/gate-10/obs", dumps(obj), "topic_mismatch"  # not its gateway
    ack = Ack(gateway=GATEWAY, boot_id=obj["boot_id"], stored=(1,), time=T0)
    return f"{OWN}/obs", ack.model_dump_json().encode(), "topic_mismatch"


def bad_topic(rnd: random.Random) -> Bad:
    site = rnd.choice(["PORT-A", "port a", "port_a!", "-port"])
    return f"tagtrail/v1/{site}/{GATEWAY}/obs", dumps(valid_batch(rnd)), "bad_topic"


def too_large(rnd: random.Random) -> Bad:
    return f"{OWN}/obs", b"{" + b" " * (MAX_PAYLOAD + rnd.randint(1, 9000)) + b"}", "too_large"


MAKERS: list[tuple[Callable[[random.Random], Bad], int]] = [
    (garbage, 2500),
    (truncated, 1500),
    (not_an_object, 500),
    (bad_zlib, 500),
    (bad_version, 1000),
    (unknown_kind, 1000),
    (invalid, 1500),
    (wrong_topic, 1000),
    (bad_topic, 480),
    (too_large, 20),
]
VALID_BATCHES = 100
ITEMS_PER_BATCH = 10


@pytest.mark.timeout(300)
def test_ten_thousand_malformed_payloads_are_dead_lettered_while_ingest_goes_on(
    collector_factory: Callable[..., Collector],
    broker_factory: Callable[..., Broker],
    influxdb: tuple[InfluxServer, str],
) -> None:
    server, db = influxdb
    seed = int(os.environ.get("TAGTRAIL_FUZZ_SEED") or random.randrange(2**32))
    rnd = random.Random(seed)
    bad = [maker(rnd) for maker, n in MAKERS for _ in range(n)]
    assert len(bad) == 10_000
    rnd.shuffle(bad)
    # A flood this fast outruns any subscriber for a moment: Mosquitto must be allowed to queue
    # it (its default, 1000 messages per client, drops the rest before the collector sees it).
    broker = broker_factory(max_queued_messages=len(bad) * 2)
    collector = collector_factory(broker=broker, ingest={"max_payload_bytes": MAX_PAYLOAD})
    with FakeGateway("127.0.0.1", broker.port, site=SITE, gateway=GATEWAY) as gw:
        every = len(bad) // VALID_BATCHES
        for i, (topic, payload, _) in enumerate(bad):
            gw.publish_to(topic, payload)
            if i % every == 0:
                gw.send_observations(
                    [
                        item(f"3034CCCC{i:08X}{n:08X}", at=T0 + timedelta(seconds=n))
                        for n in range(ITEMS_PER_BATCH)
                    ]
                )
        assert gw.wait_acked(120), f"seed {seed}: {gw.in_flight} valid batches not acked"
    expected = Counter(reason for _, _, reason in bad)
    assert wait_for(
        lambda: sum(collector.dead_letters.counts().values()) >= len(bad), timeout=60
    ), f"seed {seed}: {collector.dead_letters.counts()}"
    assert collector.dead_letters.counts() == expected, f"seed {seed}"
    assert server.count(db) == VALID_BATCHES * ITEMS_PER_BATCH
    assert not collector.metrics.registry.get_sample_value("tagtrail_shed_messages_total")
    assert _rejected_metric(collector) == expected

    kept = Counter(
        (letter.topic, letter.payload)
        for letter in _all_dead_letters(collector)
        if letter.reason != "too_large"
    )
    assert kept == Counter((t, p) for t, p, r in bad if r != "too_large")
    for letter in _all_dead_letters(collector):
        if letter.reason == "too_large":
            assert len(letter.payload) == KEEP_OF_TOO_LARGE
            assert "bytes are kept" in letter.detail
        assert letter.detail  # every rejection says why


def _all_dead_letters(collector: Collector) -> list[Any]:
    out: list[Any] = []
    after = None
    while page := collector.dead_letters.list(after=after, limit=1000):
        out.extend(page)
        after = page[-1].id
    return out


def _rejected_metric(collector: Collector) -> Counter[str]:
    counts: Counter[str] = Counter()
    for metric in collector.metrics.rejected.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels["reason"]] += int(sample.value)
    return counts
