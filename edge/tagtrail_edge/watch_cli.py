"""``tagtrail-edge watch``: the tags being read, live, for aligning antennas."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from typing import Annotated, Any

import typer

from tagtrail_edge.cli_options import DEFAULT_CONFIG, ConfigOption, JsonOption, load

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
    from tagtrail_edge.agent import build_readers, build_smoother, read_point_namer  # noqa: PLC0415
    from tagtrail_edge.listen import Listener  # noqa: PLC0415
    from tagtrail_edge.tagboard import TagBoard  # noqa: PLC0415

    settings = load(config)
    readers = [r for r in build_readers(settings) if not reader or r.name in reader]
    if not readers:
        known = ", ".join(r.name for r in settings.readers) or "none configured"
        typer.echo(f"error: no reader to watch (readers: {known})", err=True)
        raise typer.Exit(2)
    smoother = build_smoother(settings)
    board = TagBoard(read_point_namer(settings))
    deadline = None if duration is None else time.monotonic() + duration
    with ExitStack() as stack:
        listeners = [stack.enter_context(Listener[Any](r)) for r in readers]
        show = _stream(smoother) if as_json else stack.enter_context(_Screen(board, readers))
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(REFRESH_S)
                reads = [read for heard in listeners for read in heard.take()]
                board.add(reads)
                show(reads)
        except KeyboardInterrupt:
            pass


def _stream(smoother: Any) -> Any:  # noqa: ANN401 (Smoother -> a callable)
    from tagtrail_edge.output import iso  # noqa: PLC0415
    from tagtrail_edge.tagboard import identity  # noqa: PLC0415

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
