"""What both xlwings markers share: constants, the fallback look, engine tests, errors.

Split from :mod:`gkreport.markers.xlwings_marker` (which re-exports every public name)
so that the per-cell marker and the add-in's batched marker (:mod:`.xlwings_batch`)
can use the same pieces without importing each other.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gkreport.markers.marking import STATE_SHEET
from gkreport.output.safety import excel_text

if TYPE_CHECKING:  # pragma: no cover
    import xlwings as xw

THICK_COLOR = "#C00000"
HEADER_FILL = "#D9E1F2"
WIDTHS = {"A": 6, "B": 9, "C": 17, "D": 8, "E": 30, "F": 72, "G": 8, "H": 0}  # H (fingerprint): hidden
XL_SHEET_VERY_HIDDEN = 2
XL_SHEET_VISIBLE = -1


@dataclass(frozen=True)
class CellLook:
    """What a cell looks like when its real look cannot be read (remote engine).

    ``fill`` is ``RRGGBB`` or ``None`` (no fill); ``border`` is a line weight for a
    black continuous outline (``"thin"``) or ``None`` (no border).
    """

    fill: str | None = None
    border: str | None = None


Fallback = Callable[[str, str], CellLook]


def _hex(color: Any) -> str | None:
    """``(r, g, b)`` or ``#rrggbb`` -> ``RRGGBB``; ``None`` stays ``None``."""
    if color is None:
        return None
    if isinstance(color, str):
        return color.lstrip("#").upper()
    if isinstance(color, tuple | list) and len(color) == 3:
        return "{:02X}{:02X}{:02X}".format(*(int(c) for c in color))
    return None


def _text_value(v: object) -> object:
    return excel_text(v) if isinstance(v, str) else v


def is_remote(book: xw.Book) -> bool:
    """True for the remote engine (``xw.Book(json=...)``): writes are queued actions."""
    try:
        return getattr(book.app.engine, "name", "") == "remote"
    except Exception:  # pragma: no cover - Excel boundary: an engine without ``app``, or COM's own error types
        return False


def uses_com(book: xw.Book) -> bool:
    """True for desktop Excel on Windows, where ``.api`` is the COM object."""
    return sys.platform.startswith("win") and not is_remote(book)


def read_state_sheet(book: xw.Book) -> list[tuple[str, str, str]]:
    """The rows of the state sheet (sheet, cell, snapshot): the same for both markers."""
    sheet = book.sheets[STATE_SHEET]
    rows = sheet.used_range.options(ndim=2).value or []
    out = []
    for row in rows[1:]:
        if len(row) >= 2 and row[0] and row[1]:
            snap = row[2] if len(row) > 2 and row[2] is not None else ""
            out.append((str(row[0]), str(row[1]), str(snap)))
    return out


class ProtectedSheetError(Exception):
    """Sheets the marker must write to are protected with a password (Chinese message)."""

    def __init__(self, sheets: Sequence[str]) -> None:
        self.sheets = list(sheets)
        names = "、".join(f"“{s}”" for s in self.sheets)
        super().__init__(
            f"工作表{names}设置了密码保护，无法在其中标注或清除标记。\n"
            "请先点“审阅 → 撤消工作表保护”并输入密码，再点此按钮；完成后可重新保护。"
        )


