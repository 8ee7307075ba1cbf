"""How findings say things: message templates filled in, cells and groups of cells named.

Shared by the engine (identities) and the other rule types' checks (:mod:`gkreport.core.rule_checks`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from . import addresses as addr
from .forms import CellDef
from .values import format_number


class _Fmt(string.Formatter):
    """``str.format`` that leaves unknown placeholders visible instead of raising (a
    safety net: the loader rejects a placeholder the rule's type does not fill in)."""

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "{" + key + "}")
        return super().get_value(key, args, kwargs)


_FMT = _Fmt()


def render(template: str, **values: Any) -> str:
    return _FMT.format(template, **{k: format_number(v) if isinstance(v, int | float) and not isinstance(v, bool)
                                     else v for k, v in values.items()})


def num(x: float | None) -> float | int | None:
    """Integral results as int, so JSON and messages show 12, not 12.0."""
    if x is None:
        return None
    r = round(x, 6)
    return int(r) if float(r).is_integer() else r


def where(cell: CellDef) -> str:
    """``表二 D9（（一）予以公开·自然人）``: sheet short name, address and label."""
    short = cell.sheet.split(" ")[0]
    return f"{short} {cell.ref}（{cell.label}）"


def group_where(cells: list[CellDef]) -> str:
    """``表二 J 列（总计）``, ``表二 第 30 行（（七）总计）`` or the listed cells."""
    short = cells[0].sheet.split(" ")[0]
    cols = {addr.split_ref(c.ref)[0] for c in cells}
    rows = {addr.split_ref(c.ref)[1] for c in cells}
    if len(cols) == 1 and len({c.col_short for c in cells}) == 1:
        return f"{short} {cells[0].ref.rstrip('0123456789')} 列（{cells[0].col_short}）"
    if len(rows) == 1 and len({c.row_short for c in cells}) == 1:
        return f"{short} 第 {rows.pop()} 行（{cells[0].row_short}）"
    return f"{short} 各{cells[0].col_short}（{'、'.join(c.ref for c in cells)}）"


def short(raw: object, limit: int = 40) -> str:
    s = str(raw)
    return s if len(s) <= limit else s[: limit - 1] + "…"
