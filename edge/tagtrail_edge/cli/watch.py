"""``watch``: the live tag board of this gateway's readers, smoothed as the agent would."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from tagtrail_edge.cli.common import DEFAULT_CONFIG, ConfigOption, JsonOption, Listener, iso, load
from tagtrail_edge.pipeline.enrich import decode_epc
from tagtrail_edge.pipeline.read import read_point_namer, readers
from tagtrail_edge.pipeline.smooth import Smoother
from tagtrail_hardware.reads import TagRead

REFRESH_S = 0.25


COLUMNS = (
    ("epc", "EPC"), ("identity", "identity"), ("read_point", "read point"), ("antenna", "ant"),
    ("rssi_now", "RSSI"), ("rssi_peak", "peak"), ("reads_per_s", "reads/s"),
    ("last_seen_s", "seen s ago"),
)  # fmt: skip


def watch(
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    reader: Annotated[
        list[str] | None, typer.Option(help="only this reader (repeat); default: all")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="stop after this many seconds; default: until Ctrl-C")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a live table of the tags being read (EPC, decoded identity, read point, antenna,
    RSSI now and peak, reads/s, last seen) that updates in place. With --json, stream the
    smoothed events instead (arrive, observe, depart; one object per line), with the read
    point thresholds of the config. Opens the readers itself: stop the agent first.

    Example: tagtrail-edge watch --reader dock
    """
    settings = load(config)
    devices = readers(settings, only=tuple(reader or ()))
    if not devices:
        known = ", ".join(r.name for r in settings.readers) or "none configured"
        typer.echo(f"error: no reader to watch (readers: {known})", err=True)
        raise typer.Exit(2)
    namer = read_point_namer(settings)
    smoother = Smoother(read_point=namer, thresholds=settings.thresholds_for)
    board = TagBoard(namer)
    deadline = None if duration is None else time.monotonic() + duration
    with ExitStack() as stack:
        listeners = [stack.enter_context(Listener[Any](r)) for r in devices]
        show = _stream(smoother) if as_json else stack.enter_context(_Screen(board, devices))
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(REFRESH_S)
                reads = [read for heard in listeners for read in heard.take()]
                board.add(reads)
                show(reads)
        except KeyboardInterrupt:
            pass


def _stream(smoother: Any) -> Any:  # noqa: ANN401 (Smoother -> a callable)

    def show(reads: list[Any]) -> None:
        events = [event for read in reads for event in smoother.read(read)]
        events += smoother.tick(time.time())
        for event in events:
            row = {
                "event": event.type, "epc": event.epc, "identity": identity(event.epc),
                "read_point": event.read_point, "antenna": event.antenna,
                "first_seen": iso(event.first_seen), "last_seen": iso(event.last_seen),
                "count": event.count, "peak_rssi_dbm": event.peak_rssi,
            }  # fmt: skip
            typer.echo(json.dumps(row))

    return show


class _Screen:
    """The live table (rich.live), redrawn in place; the readers' states in its caption."""

    def __init__(self, board: Any, readers: list[Any]) -> None:  # noqa: ANN401
        from rich.live import Live  # noqa: PLC0415

        self.board = board
        self.readers = readers
        self.live = Live(self._render(), refresh_per_second=4, transient=False)

    def __enter__(self) -> _Screen:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def __call__(self, reads: list[Any]) -> None:
        self.live.update(self._render())

    def _render(self) -> Any:  # noqa: ANN401 (a rich renderable)
        from rich.table import Table  # noqa: PLC0415

        rows = self.board.rows(time.monotonic_ns())
        states = "; ".join(_reader_state(r) for r in self.readers)
        table = Table(
            title=f"tags being read: {len(rows)} (reads total {self.board.total})",
            caption=f"{states}. Ctrl-C to stop.",
        )
        for _, title in COLUMNS:
            table.add_column(title, overflow="fold")
        for row in rows:
            table.add_row(*("" if row[key] is None else str(row[key]) for key, _ in COLUMNS))
        return table


def _reader_state(reader: Any) -> str:  # noqa: ANN401
    status = reader.status()
    detail = f" ({status.detail})" if status.detail and status.state != "reading" else ""
    return f"{status.name}: {status.state}{detail}"


@dataclass(slots=True)
class _Line:
    epc: str
    read_point: str
    antenna: int
    identity: str
    rssi_now: float | None = None
    rssi_peak: float | None = None
    reads: int = 0
    last_ns: int = 0
    recent: deque[int] = field(default_factory=deque)


def identity(epc: str) -> str:
    """A short decoded identity: scheme and GS1 key, or why the EPC does not decode."""
    decoded = decode_epc(epc)
    if decoded.identity is None:
        return f"not GS1: {decoded.error}"
    found = decoded.identity
    return f"{found.scheme} {found.gs1_key}" if found.gs1_key else found.uri


class TagBoard:
    """Live figures per (EPC, read point): RSSI now and peak, reads/s over ``window_s``."""

    def __init__(self, read_point: Callable[[str, int], str], *, window_s: float = 5.0) -> None:
        self.read_point = read_point
        self.window_ns = int(window_s * 1e9)
        self.total = 0
        self._lines: dict[tuple[str, str], _Line] = {}

    def add(self, reads: Iterable[TagRead]) -> None:
        for read in reads:
            point = self.read_point(read.reader, read.antenna)
            line = self._lines.get((read.epc, point))
            if line is None:
                line = _Line(read.epc, point, read.antenna, identity(read.epc))
                self._lines[(read.epc, point)] = line
            line.reads += 1
            line.rssi_now = read.rssi_dbm
            if read.rssi_dbm is not None and (
                line.rssi_peak is None or read.rssi_dbm > line.rssi_peak
            ):
                line.rssi_peak = read.rssi_dbm
            line.last_ns = max(line.last_ns, read.mono_ns)
            line.recent.append(read.mono_ns)
            self.total += 1

    def rows(self, now_ns: int) -> list[dict[str, Any]]:
        """One row per tag and read point, by read point then EPC (rows do not jump around)."""
        rows = []
        for key in sorted(self._lines, key=lambda k: (k[1], k[0])):
            line = self._lines[key]
            while line.recent and line.recent[0] < now_ns - self.window_ns:
                line.recent.popleft()
            rows.append({
                "epc": line.epc, "identity": line.identity, "read_point": line.read_point,
                "antenna": line.antenna, "rssi_now": line.rssi_now, "rssi_peak": line.rssi_peak,
                "reads_per_s": round(len(line.recent) * 1e9 / self.window_ns, 1),
                "reads": line.reads, "last_seen_s": round(max(0, now_ns - line.last_ns) / 1e9, 1),
            })  # fmt: skip
        return rows
