"""A short fingerprint of a report's data, printed on paper and listed in the summary.

A return notice is printed, signed and filed; the summary lists the files. The
fingerprint (first 8 hex digits of a SHA-256 over the sorted (cell id, value) list)
ties a signed paper copy to the exact data of one file: the same numbers give the same
fingerprint whichever reader read them (openpyxl or calamine) and whatever the file is
called; a changed cell gives another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

from .forms import Form
from .report import Report
from .values import Value


def cell_text(value: Value) -> str:
    """A cell's value as text, the same for every reader: integers as digits (3.0 -> "3"),
    decimals in positional notation with every digit of the stored float, text with its
    whitespace collapsed, blank as ''. Also how the publication prints a cell."""
    return raw_text(value.raw)


def raw_text(raw: object) -> str:
    """:func:`cell_text` of a raw cell content (also used for header fields)."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return str(raw)
        if raw.is_integer() and abs(raw) < 2**53:
            return str(int(raw))
        return format(Decimal(repr(raw)), "f")
    if isinstance(raw, dt.datetime | dt.date):
        return raw.isoformat()
    return re.sub(r"\s+", " ", str(raw)).strip()


def data_fingerprint(report: Report) -> str:
    """First 8 hex digits of SHA-256 over ``cell id<TAB>value`` lines, cell ids sorted."""
    get = report.values.get
    lines = []
    for cid in _sorted_ids(report.form):
        v = get(cid)
        raw = None if v is None else v.raw
        lines.append(f"{cid}\t{raw if type(raw) is int else raw_text(raw)}")  # an int (nearly all): its digits
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:8]


_SORTED: dict[int, tuple[Form, tuple[str, ...]]] = {}


def _sorted_ids(form: Form) -> tuple[str, ...]:
    """The form's cell ids sorted, once per form (kept with the form, checked by identity)."""
    hit = _SORTED.get(id(form))
    if hit is None or hit[0] is not form or len(hit[1]) != len(form.cells):
        if len(_SORTED) > 16:
            _SORTED.clear()
        hit = _SORTED[id(form)] = (form, tuple(sorted(form.cells)))
    return hit[1]
