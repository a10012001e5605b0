"""Smoothing: pure, deterministic, clock passed in."""

from __future__ import annotations

from tagtrail_edge.config import Thresholds
from tagtrail_edge.pipeline.smooth import Smoother
from tagtrail_edge.pipeline.values import Event
from tagtrail_hardware.reads import TagRead

LIMITS = Thresholds(observe_count=3, observe_s=10.0, lost_s=2.0)


def smoother(limits: Thresholds = LIMITS) -> Smoother:
    return Smoother(
        read_point=lambda reader, antenna: f"{reader}-a{antenna}", thresholds=lambda _: limits
    )


def read(t: float, epc: str = "AAAA", rssi: float | None = -60.0, antenna: int = 1) -> TagRead:
    return TagRead(
        epc=epc, antenna=antenna, time=t, mono_ns=int(t * 1e9), rssi_dbm=rssi, reader="dock"
    )


def test_arrive_after_count_then_depart_after_silence() -> None:
    s = smoother()
    events = [e for t in (0.0, 0.5, 1.0, 1.5) for e in s.read(read(t, rssi=-70 + t * 10))]
    assert [(e.type, e.first_seen, e.last_seen, e.count) for e in events] == [
        ("arrive", 0.0, 1.0, 3)
    ]
    assert s.tick(3.4) == []  # 1.9 s of silence: still there
    (depart,) = s.tick(3.6)
    assert (depart.type, depart.first_seen, depart.last_seen, depart.count) == (
        "depart",
        0.0,
        1.5,
        4,
    )
    assert depart.peak_rssi == -55.0
    assert depart.dwell_s == 1.5
    assert depart.read_point == "dock-a1"
    assert s.tracks == {}


def test_arrive_after_time_threshold_with_few_reads() -> None:
    s = smoother(Thresholds(observe_count=100, observe_s=1.0, lost_s=5.0))
    assert s.read(read(0.0)) == []
    assert s.read(read(0.9)) == []
    assert [e.type for e in s.read(read(1.0))] == ["arrive"]


def test_a_glimpse_is_noise_and_leaves_no_event() -> None:
    s = smoother()
    assert s.read(read(0.0)) == []
    assert s.tick(5.0) == []
    assert s.tracks == {}


def test_a_gap_in_reader_time_closes_the_visit() -> None:
    s = smoother()
    for t in (0.0, 0.1, 0.2):
        s.read(read(t))
    events = s.read(read(10.0))  # the reader's own clock says it was gone for 9.8 s
    assert [(e.type, e.last_seen) for e in events] == [("depart", 0.2)]
    assert next(iter(s.tracks.values())).first_seen == 10.0


def test_tags_and_read_points_are_independent() -> None:
    s = smoother()
    for t in (0.0, 0.1, 0.2):
        s.read(read(t, epc="AAAA"))
        s.read(read(t, epc="AAAA", antenna=2))
        s.read(read(t, epc="BBBB"))
    assert len(s.tracks) == 3
    assert sorted((e.epc, e.read_point) for e in s.tick(5.0)) == [
        ("AAAA", "dock-a1"),
        ("AAAA", "dock-a2"),
        ("BBBB", "dock-a1"),
    ]


def test_observe_summaries_when_configured() -> None:
    s = smoother(LIMITS.model_copy(update={"summary_s": 1.0}))
    types = [e.type for t in range(40) for e in s.read(read(t / 10))]
    assert types == ["arrive", "observe", "observe", "observe"]


def test_restored_tracks_get_grace_after_a_restart() -> None:
    s = smoother()
    for t in (0.0, 0.1, 0.2):
        s.read(read(t))
    saved, _ = s.take_changes()
    fresh = smoother()
    fresh.restore(saved, now=100.0)  # the agent was down for 100 s: no evidence of departure
    assert fresh.tick(101.0) == []
    # Reads right after the restart continue the visit: no depart for the downtime, no arrive.
    assert fresh.read(read(101.5)) + fresh.read(read(101.6)) == []
    (depart,) = fresh.tick(104.0)
    assert depart.first_seen == 0.0


def test_changes_are_tracked_for_persistence() -> None:
    s = smoother()
    for t in (0.0, 0.1, 0.2):
        s.read(read(t))
    saved, deleted = s.take_changes()
    assert [t.count for t in saved] == [3]
    assert deleted == []
    s.tick(10.0)
    assert s.take_changes() == ([], [("AAAA", "dock-a1")])


def test_deterministic() -> None:
    def run() -> list[Event]:
        s = smoother()
        out = [e for t in range(100) for e in s.read(read(t * 0.37 % 7, epc=f"{t % 5:04X}"))]
        return out + s.tick(100.0)

    assert run() == run()
