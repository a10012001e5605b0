"""``tagtrail-edge epc``: what the tags a reader reports are, per the GS1 Tag Data Standard."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tagtrail_edge.cli_options import JsonOption
from tagtrail_edge.output import json_lines, table

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="EPCs: what the tags a reader reports are."
)


@app.command()
def decode(
    epcs: Annotated[list[str], typer.Argument(help="EPCs in hexadecimal, as readers report them")],
    *,
    as_json: JsonOption = False,
) -> None:
    """Decode EPCs: scheme, pure identity URI, tag URI, filter and GS1 key (GTIN, SSCC, ...).

    An EPC that does not decode is reported with the reason (that is normal: not every tag
    carries a GS1 EPC); the exit status is 0 either way.

    Example: tagtrail-edge epc decode 3074257BF7194E4000001A85 --json
    """
    rows = [decoded(epc) for epc in epcs]
    if as_json:
        json_lines(rows)
        return
    keys = ("hex", "scheme", "uri", "filter", "gs1_key", "error")
    columns = ("EPC", "scheme", "identity", "filter", "GS1 key", "error")
    table("EPCs", columns, [[r.get(key) for key in keys] for r in rows])


def decoded(epc: str) -> dict[str, Any]:
    """One EPC as the ``--json`` output shows it."""
    from tagtrail_edge.enrich import decode_epc  # noqa: PLC0415 (epcpy loads slowly)

    text = epc.strip().upper().removeprefix("0X")
    result = decode_epc(text)
    if result.identity is None:
        return {"hex": text, "error": result.error}
    return {"hex": text, **result.identity.model_dump()}
