"""Fill a template workbook with values by cell id (used by ``import`` and the demo)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from gkreport.core.forms import Form

from .safety import set_value
from .template import build_template, save_workbook_atomic

# What an openpyxl cell holds (bool is an int, datetime a date): a header's date is written as a date.
CellInput = int | float | Decimal | str | dt.date | dt.time | dt.timedelta | None


def fill_workbook(wb: Workbook, form: Form, values: Mapping[str, CellInput],
                  header: Mapping[str, CellInput] | None = None) -> Workbook:
    """Write ``values`` (cell id -> value) and ``header`` (field id -> value) into ``wb``.

    ``None`` leaves a cell blank: a blank is never turned into 0. Text is written as
    text and can never become a formula (see :mod:`gkreport.output.safety`).
    """
    for cid, value in values.items():
        cell = form.cells[cid]
        set_value(wb[cell.sheet][cell.ref], value)
    for fid, value in (header or {}).items():
        field = form.header_field(fid)
        if field.fixed is not None:
            continue
        set_value(wb[field.sheet][field.cell], value)
    return wb


def write_filled(form: Form, path: Path, values: Mapping[str, CellInput],
                 header: Mapping[str, CellInput] | None = None) -> Path:
    """A new template for ``form`` with ``values`` filled in, saved atomically."""
    return save_workbook_atomic(fill_workbook(build_template(form), form, values, header), path)
