"""Where the form's cells are: names, the official layout, and a cell value as a Value.

Shared by the fast and the full reader (split from :mod:`gkreport.readers.workbook`,
which re-exports the public names).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from gkreport.core import addresses as addr
from gkreport.core.forms import Form, available_forms, load_form
from gkreport.core.forms_meta import table_prefixes
from gkreport.core.labels import canonical
from gkreport.core.values import BLANK, MAX_ABS, Value, parse_value

from .files import NotATemplate, ReadError

Grid = Mapping[str, list[list[Any]]]  # sheet name -> rows of cached values (A1 at [0][0])
MIN_LAYOUT_SCORE = 0.9


_SIMPLE_NAME = re.compile(r"(?:'((?:[^']|'')+)'|([^'!:\s,()&\"#=+\-*/^<>;{}]+))!(\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6})"
                          r"(?::\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6})?")


@lru_cache(maxsize=4096)
def name_target(text: str) -> tuple[str, str] | None:
    """(sheet, first cell) of a defined name written ``'Sheet'!$A$1`` (or a range), as
    openpyxl's ``destinations`` gives it; None for any other form. Kept by text: the files
    made from one template name the same cells the same way."""
    m = _SIMPLE_NAME.fullmatch(text.strip())
    if m is None:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
    return sheet, m.group(3).replace("$", "")


def _all_ids() -> frozenset[str]:
    from gkreport.core.overlay import active_dir, signature

    return _ids_under(signature(active_dir()))  # the forms of the rules overlay in effect


@cache
def _ids_under(overlay: tuple[object, ...]) -> frozenset[str]:
    return frozenset(i for v in available_forms() for i in [*load_form(v).cells, *(h.id for h in load_form(v).header)])


def _calamine_grid(path: Path, nrows: int = 400) -> dict[str, list[list[Any]]]:
    """Cached cell values by sheet (what Excel last computed for formula cells)."""
    import python_calamine as pc  # (the full reader's and the layout detection's only)

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError:
        raise ReadError("文件设置了打开密码（已加密），请在 Excel 中去掉密码后另存，再试") from None
    except Exception as e:  # calamine raises several error types on damaged files
        raise ReadError(f"文件已损坏，无法读取（{type(e).__name__}）") from None
    grid: dict[str, list[list[Any]]] = {}
    try:
        names = wb.sheet_names
        if not names:
            raise ReadError("工作簿中没有工作表")
        for name in names:
            try:
                sheet = wb.get_sheet_by_name(name)
            except Exception:  # chart sheets and the like have no cells
                continue
            # nrows bounds the read: a sheet with a million empty rows below the table
            # is not inflated into memory.
            try:
                grid[name] = sheet.to_python(skip_empty_area=False, nrows=nrows)
            except Exception as e:  # a damaged sheet part (bad CRC, truncated XML)
                raise ReadError(f"文件已损坏，工作表“{name}”无法读取（{type(e).__name__}）") from None
    finally:
        wb.close()
    if not grid:
        raise ReadError("工作簿中没有工作表")
    return grid


@dataclass(frozen=True)
class _Layout:
    """A form's fixed positions, precomputed once: what the fast reader looks at per file."""

    labels: tuple[tuple[str, int, int, str], ...]  # sheet, row0, col0, canonical label text
    typed: tuple[tuple[str, str, str, str, str | None], ...]  # id, sheet, ref, type, unit
    header: tuple[tuple[str, str, int, int], ...]  # id, sheet, row0, col0
    canon: Callable[[str], str]
    refs: tuple[tuple[str, str, str], ...]  # every cell read (data and header): id, sheet, ref
    header_ids: frozenset[str]
    refs_by_sheet: Mapping[str, frozenset[str]]  # sheet -> addresses of every cell read


_LAYOUTS: dict[int, tuple[Form, _Layout]] = {}


def _layout(form: Form) -> _Layout:
    hit = _LAYOUTS.get(id(form))
    if hit is not None and hit[0] is form:
        return hit[1]

    @lru_cache(maxsize=4096)
    def canon(text: str) -> str:
        return canonical(text, form.synonyms)

    labels = []
    for table in form.tables:
        for lab in table.labels:
            col, row = addr.split_ref(lab.range.split(":")[0])
            labels.append((table.sheet, row - 1, col - 1, canon(lab.text)))
    typed = tuple((cid, c.sheet, c.ref, c.type, c.unit) for cid, c in form.cells.items())
    header = []
    for h in form.header:
        col, row = addr.split_ref(h.cell)
        header.append((h.id, h.sheet, row - 1, col - 1))
    refs = tuple([(cid, c.sheet, c.ref) for cid, c in form.cells.items()]
                 + [(h.id, h.sheet, h.cell) for h in form.header])
    by_sheet: dict[str, set[str]] = {}
    for _, sheet, ref in refs:
        by_sheet.setdefault(sheet, set()).add(ref)
    out = _Layout(tuple(labels), typed, tuple(header), canon, refs,
                  frozenset(h.id for h in form.header), {k: frozenset(v) for k, v in by_sheet.items()})
    _LAYOUTS[id(form)] = (form, out)
    return out


def warm_layout(form: Form) -> None:
    """Precompute what the fast reader needs for ``form`` (before forking workers)."""
    _layout(form)
    _all_ids()


def _at(grid: Grid, sheet: str, row0: int, col0: int) -> Any:
    rows = grid.get(sheet)
    if rows is None or row0 >= len(rows):
        return None
    r = rows[row0]
    if col0 >= len(r):
        return None
    v = r[col0]
    return None if v == "" else v


def layout_score(form: Form, grid: Grid) -> float:
    """Share of the form's printed labels found at their places (1.0 = our layout)."""
    lay = _layout(form)
    if not lay.labels:
        return 0.0
    hit = 0
    for sheet, row0, col0, want in lay.labels:
        got = _at(grid, sheet, row0, col0)
        if got is not None and lay.canon(str(got)) == want:
            hit += 1
    return hit / len(lay.labels)


def _detect_by_layout(grid: Grid, form: str | None) -> Form | None:
    candidates = [load_form(form)] if form else [load_form(v) for v in reversed(available_forms())]
    scored = []
    for f in candidates:  # newest first: the usual case, and a perfect score ends the search
        score = layout_score(f, grid)
        if score == 1.0:
            return f
        scored.append((score, f.version, f))
    best = max(scored)
    return best[2] if best[0] >= MIN_LAYOUT_SCORE else None


def _no_layout_message(grid: Grid) -> ReadError:
    expected = {t.sheet for v in available_forms() for t in load_form(v).tables}
    missing = sorted(expected - set(grid))
    if len(missing) < len(expected) and missing:
        return ReadError("工作簿缺少工作表：" + "、".join(missing) + "（可能被删除或改名）")
    return NotATemplate("工作簿不是本工具的填报模板，也没有找到按官方表式排列的表格")


def _value(raw: Any, ctype: str, unit: str | None) -> Value:
    if raw is None:
        return BLANK
    if type(raw) is int and 0 <= raw <= MAX_ABS:
        return Value(raw, "number", raw)  # what parse_value gives, without its detours
    if type(raw) is float and raw.is_integer() and 0 <= raw <= MAX_ABS:
        # The common case by far (calamine gives every number as a float): skip the
        # general parser, which would reach the same Value.
        return Value(raw, "number", int(raw))
    if isinstance(raw, dt.datetime | dt.date | dt.time | dt.timedelta):
        return Value(raw, "invalid", why="是日期或时间格式，不是数字")
    return parse_value(raw, ctype, unit)


def detect_form_by_names(names: Mapping[str, object], form: str | None = None) -> Form | None:
    """The form whose cell ids the workbook's names cover best (shared with the live add-in)."""
    best: tuple[float, Form] | None = None
    prefixes = table_prefixes()
    for v in [form] if form else available_forms():
        f = load_form(v)
        ids = set(f.cells)
        share = len(ids & set(names)) / len(ids)
        # Names present in the workbook but foreign to this form count against it.
        foreign = sum(1 for n in names if n.startswith(prefixes) and n not in ids)
        score = share - foreign / len(ids)
        if best is None or score > best[0]:
            best = (score, f)
    if best is None or best[0] < 0.5:
        return None
    _refuse_foreign_cells(best[1], names, prefixes)
    return best[1]


def _refuse_foreign_cells(form: Form, names: Mapping[str, object], prefixes: tuple[str, ...]) -> None:
    """Refuse a workbook whose template named table cells this form does not have.

    Such names come from a template of another form version (a newer form added through a
    rules overlay, say, with a row the packaged form lacks). Reading it as ``form`` would
    silently leave those cells out of the check and the county total, so the file is not
    read at all and the clerk is told which rules folder it needs.
    """
    foreign = sorted(n for n in names if n.startswith(prefixes) and n not in form.cells)
    if not foreign:
        return
    shown = "、".join(foreign[:3]) + ("等" if len(foreign) > 3 else "")
    raise ReadError(
        f"工作簿中有 {len(foreign)} 个单元格名称（{shown}）不属于{form.name}：文件可能用的是本工具没有规则的表式版本，"
        f"这些单元格不会被读取，因此不予读取。请用含该表式规则（form-*.json）的规则目录"
        f"（--rules 或 GKREPORT_RULES_DIR）重新运行，或更新 gkreport")
