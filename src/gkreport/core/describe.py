"""``gkreport describe``: every data cell and header field of a form, as plain records.

The records let a script fill a template by label: ``row``/``column`` are the official
label paths, parent first, joined with `` / ``.
"""

from __future__ import annotations

from typing import Any

from .forms import Form


def describe(form: Form) -> list[dict[str, Any]]:
    """Header fields first, then the data cells table by table in printed order."""
    out: list[dict[str, Any]] = [
        {"id": h.id, "sheet": h.sheet, "cell": h.cell, "table": None, "row": h.label, "column": "",
         "type": h.type, "kind": "header"}
        for h in form.header
    ]
    for table in form.tables:
        for cell in form.table_cells(table.id):
            out.append({
                "id": cell.id, "sheet": cell.sheet, "cell": cell.ref, "table": cell.table,
                "row": cell.row_label, "column": cell.col_label, "type": cell.type, "kind": cell.kind,
            })
    return out
