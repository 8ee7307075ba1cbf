"""Read a workbook made from our template into a Report.

Cells are found by their defined names (the name is the cell id), so a clerk who
inserted a row or moved a table does not break reading; a workbook without the
names is matched against the official layout of each form. Two speeds:

- ``full`` (``check``): openpyxl for names and formulas, python-calamine for the
  values Excel cached. Formulas are recomputed (see :mod:`gkreport.formula`).
- ``fast`` (``consolidate``): python-calamine only, positions from the form, the
  layout verified by its printed labels. About 10× faster than openpyxl; formulas are
  taken at their cached values.
"""

from __future__ import annotations

import datetime as dt
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import openpyxl
import python_calamine as pc

from .. import addresses as addr
from ..forms import Form, available_forms, load_form
from ..formula import FormulaError, evaluate
from ..labels import canonical
from ..ooxml import formula_refs, sheet_parts
from ..report import Report
from ..values import BLANK, MAX_ABS, Value, format_number, parse_value
from .files import NotATemplate, ReadError, Sniffed, check_sheet_part, sniff

Grid = Mapping[str, list[list[Any]]]  # sheet name -> rows of cached values (A1 at [0][0])
MIN_LAYOUT_SCORE = 0.9


def read_workbook(path: Path, form: str | None = None, *, mode: str = "full",
                  sniffed: Sniffed | None = None) -> Report:
    """Read ``path`` (an .xlsx/.xlsm made from the template); raise ReadError if unusable.

    ``sniffed`` is the caller's :func:`sniff` of the file (``read_any`` passes it, with
    the archive left open in fast mode), so the zip directory is not parsed twice.
    """
    path = Path(path)
    own = sniffed is None or (mode == "fast" and sniffed.archive is None)
    if own:
        sniffed = sniff(path, verify=mode != "fast", keep_open=mode == "fast")
    assert sniffed is not None
    try:
        if sniffed.kind != "xlsx":
            raise ReadError("不是 Excel 工作簿（.xlsx）")
        if mode == "fast" and sniffed.archive is not None:
            formulas = _scan_parts(sniffed.archive, _data_sheets())
            grid, names = _calamine_grid(path, sheets=_form_sheets(), nrows=_max_form_row())
            f = _detect_by_layout(grid, form)
            if f is not None and not _layout(f).has_formula_in_data(formulas):
                report = _report_from_positions(f, grid, path)
                report.sheet_names = names
                return report
            # Not at the official positions (rows inserted, tables moved): the defined
            # names may still find every cell, which the full reader knows how to follow.
            # Formulas typed into data cells: calamine only has their cached results, which
            # may be missing or stale; the full reader recomputes them and says so.
        return _read_full(path, _calamine_grid(path)[0], form)
    finally:
        if own:
            sniffed.close()


def _scan_parts(zf: zipfile.ZipFile, sheets: frozenset[str]) -> dict[str, set[str]]:
    """One pass over the sheet parts: their CRC, the work limits, and where formulas are.

    Returns sheet name -> addresses of formula cells, for the sheets in ``sheets``.
    Reading a zip member to its end verifies its CRC, so a flipped bit in the numbers
    is caught here (``sniff`` is called without its all-members check on this path).
    Every sheet is checked against the limits (``files.check_sheet_part``): a stray
    cell far below the header sheet would otherwise cost hundreds of MB in calamine.
    Shared strings are not re-read: damage there shows as a garbled name or year in
    报送情况, not as a silently different number.
    """
    try:
        out = {}
        for name, part in sheet_parts(zf).items():
            # Every sheet within the work limits (cells, used range, digits): python-calamine
            # holds a sheet's used range densely, the header sheet's too.
            data = check_sheet_part(zf.read(part), name)
            if name in sheets:
                out[name] = formula_refs(data)
        return out
    except KeyError:
        raise ReadError("文件不完整（工作簿列出的工作表部件不存在），请重新保存或重新获取") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        raise ReadError("文件已损坏（数据部分校验失败），请重新保存或重新获取") from None


def _calamine_grid(path: Path, sheets: frozenset[str] | None = None,
                   nrows: int = 400) -> tuple[dict[str, list[list[Any]]], tuple[str, ...]]:
    """Cached cell values by sheet (only ``sheets`` when given: the fast reader's subset),
    and the names of all the workbook's sheets."""
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
            if sheets is not None and name not in sheets:
                continue
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
    if not grid and sheets is None:
        raise ReadError("工作簿中没有工作表")
    return grid, tuple(names)


@dataclass(frozen=True)
class _Layout:
    """A form's fixed positions, precomputed once: what the fast reader looks at per file."""

    labels: tuple[tuple[str, int, int, str], ...]  # sheet, row0, col0, canonical label text
    cells: tuple[tuple[str, str, int, int, str, str | None], ...]  # id, sheet, row0, col0, type, unit
    header: tuple[tuple[str, str, int, int], ...]  # id, sheet, row0, col0
    max_row: int
    canon: Callable[[str], str]
    data_refs: Mapping[str, frozenset[str]]  # sheet -> addresses of the data cells

    def has_formula_in_data(self, formulas: Mapping[str, set[str]]) -> bool:
        return any(refs & self.data_refs.get(sheet, frozenset()) for sheet, refs in formulas.items() if refs)


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
    cells = []
    for cid, cell in form.cells.items():
        col, row = addr.split_ref(cell.ref)
        cells.append((cid, cell.sheet, row - 1, col - 1, cell.type, cell.unit))
    header = []
    for h in form.header:
        col, row = addr.split_ref(h.cell)
        header.append((h.id, h.sheet, row - 1, col - 1))
    rows0 = [r for _, r, _, _ in labels] + [r for _, _, r, _, _, _ in cells] + [r for _, _, r, _ in header]
    max_row = max(rows0, default=0) + 1
    data_refs: dict[str, set[str]] = {}
    for cell in form.cells.values():
        data_refs.setdefault(cell.sheet, set()).add(cell.ref)
    out = _Layout(tuple(labels), tuple(cells), tuple(header), max_row, canon,
                  {k: frozenset(v) for k, v in data_refs.items()})
    _LAYOUTS[id(form)] = (form, out)
    return out


def warm_layout(form: Form) -> None:
    """Precompute what the fast reader needs for ``form`` (before forking workers)."""
    _layout(form)
    _form_sheets()
    _data_sheets()
    _max_form_row()


@cache
def _form_sheets() -> frozenset[str]:
    """Every sheet any form reads (the fast reader skips the others, e.g. 填报说明)."""
    return frozenset(s for v in available_forms() for s in _sheets_of(load_form(v)))


@cache
def _data_sheets() -> frozenset[str]:
    """Sheets holding any form's data cells (the tables, not the header sheet)."""
    return frozenset(c.sheet for v in available_forms() for c in load_form(v).cells.values())


@cache
def _max_form_row() -> int:
    return max(_layout(load_form(v)).max_row for v in available_forms())


def _sheets_of(form: Form) -> set[str]:
    return {form.header_sheet, *(t.sheet for t in form.tables), *(h.sheet for h in form.header)}


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


# ---------------------------------------------------------------------------- fast path


def _report_from_positions(form: Form, grid: Grid, path: Path) -> Report:
    lay = _layout(form)
    values: dict[str, Value] = {}
    for cid, sheet, row0, col0, ctype, unit in lay.cells:
        values[cid] = _value(_at(grid, sheet, row0, col0), ctype, unit)
    header = {hid: _at(grid, sheet, row0, col0) for hid, sheet, row0, col0 in lay.header}
    return Report(form=form, values=values, header=header, source=str(path))


def _value(raw: Any, ctype: str, unit: str | None) -> Value:
    if raw is None:
        return BLANK
    if type(raw) is float and raw.is_integer() and 0 <= raw <= MAX_ABS:
        # The common case by far (calamine gives every number as a float): skip the
        # general parser, which would reach the same Value.
        return Value(raw, "number", int(raw))
    if isinstance(raw, dt.datetime | dt.date | dt.time | dt.timedelta):
        return Value(raw, "invalid", why="是日期或时间格式，不是数字")
    return parse_value(raw, ctype, unit)


# ---------------------------------------------------------------------------- full path


def _read_full(path: Path, grid: Grid, form: str | None) -> Report:
    try:
        wb = openpyxl.load_workbook(path, data_only=False, keep_links=False)
    except Exception as e:  # openpyxl raises many types on malformed parts
        raise _load_error(e) from None
    try:
        names = _names(wb)
        f = detect_form_by_names(names, form)
        if f is None:
            f = _detect_by_layout(grid, form)
            if f is None:
                raise _no_layout_message(grid)
            names = {**{cid: (c.sheet, c.ref) for cid, c in f.cells.items()},
                     **{h.id: (h.sheet, h.cell) for h in f.header}}
        missing_sheets = sorted({s for s, _ in names.values() if s not in wb.sheetnames})
        if missing_sheets:
            raise ReadError("工作簿缺少工作表：" + "、".join(missing_sheets))
        lost = [cid for cid in f.cells if cid not in names]
        if len(lost) == len(f.cells):
            raise ReadError("找不到任何数据单元格（表格可能被删除）")
        formulas = _FormulaCells(wb, grid)
        values: dict[str, Value] = {}
        for cid, cell in f.cells.items():
            if cid not in names:
                values[cid] = Value(None, "unreadable", why="所在位置已被删除（名称失效），无法读取")
                continue
            sheet, ref = names[cid]
            values[cid] = formulas.value(sheet, ref, cell.type, cell.unit)
        header: dict[str, object] = {}
        for h in f.header:
            loc = names.get(h.id, (h.sheet, h.cell))
            header[h.id] = formulas.plain(*loc)
        return Report(form=f, values=values, header=header, source=str(path), sheet_names=tuple(wb.sheetnames))
    finally:
        wb.close()


UNSAFE_XML = "文件中含有不安全的 XML 内容（自定义实体/DTD，可能是恶意构造的文件），已拒绝读取"


def _load_error(e: BaseException) -> ReadError:
    """openpyxl's failure as a Chinese message; entity tricks (billion laughs) named as such.

    defusedxml refuses entity declarations; lxml refuses runaway expansion. openpyxl
    wraps the first in a generic ValueError, so the cause chain is searched.
    """
    seen: BaseException | None = e
    while seen is not None:
        name = type(seen).__name__
        if name in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden") or (
                "entity" in str(seen).lower() and "amplification" in str(seen).lower()):
            return ReadError(UNSAFE_XML)
        seen = seen.__cause__ or seen.__context__
    first_line = str(e).strip().splitlines()[0][:80] if str(e).strip() else ""
    return ReadError(f"文件已损坏，无法读取（{type(e).__name__}: {first_line}）")


def _names(wb: openpyxl.Workbook) -> dict[str, tuple[str, str]]:
    """Workbook-level names that point at exactly one cell: id -> (sheet, ref)."""
    out: dict[str, tuple[str, str]] = {}
    for name, dn in wb.defined_names.items():
        try:
            dests = list(dn.destinations)
        except Exception:  # "#REF!" after a deleted sheet, external references
            continue
        if len(dests) != 1:
            continue
        sheet, ref = dests[0]
        ref = ref.replace("$", "")
        if ":" in ref:
            ref = ref.split(":")[0]
        out[name] = (sheet, ref)
    return out


def detect_form_by_names(names: Mapping[str, object], form: str | None = None) -> Form | None:
    """The form whose cell ids the workbook's names cover best (shared with the live add-in)."""
    best: tuple[float, Form] | None = None
    for v in [form] if form else available_forms():
        f = load_form(v)
        ids = set(f.cells)
        share = len(ids & set(names)) / len(ids)
        # Names present in the workbook but foreign to this form count against it.
        foreign = sum(1 for n in names if n.startswith(("t1.", "t2.", "t3.")) and n not in ids)
        score = share - foreign / len(ids)
        if best is None or score > best[0]:
            best = (score, f)
    return best[1] if best and best[0] >= 0.5 else None


class _FormulaCells:
    """Values of cells, recomputing formulas instead of trusting their cached results."""

    def __init__(self, wb: openpyxl.Workbook, grid: Grid) -> None:
        self.wb = wb
        self.grid = grid
        self.stack: set[tuple[str, int, int]] = set()

    def _raw(self, sheet: str, col: int, row: int) -> Any:
        try:
            ws = self.wb[sheet]
        except KeyError:
            raise FormulaError(f"引用了不存在的工作表“{sheet}”") from None
        return ws.cell(row=row, column=col).value

    def plain(self, sheet: str, ref: str) -> Any:
        col, row = addr.split_ref(ref)
        raw = self._raw(sheet, col, row)
        if _is_formula(raw):
            return _at(self.grid, sheet, row - 1, col - 1)
        return raw

    def _number(self, home: str) -> Callable[[str | None, int, int], float]:
        def lookup(sheet: str | None, col: int, row: int) -> float:
            key = (sheet or home, col, row)
            if key in self.stack:
                raise FormulaError("公式存在循环引用")
            raw = self._raw(key[0], col, row)
            if _is_formula(raw):
                self.stack.add(key)
                try:
                    return evaluate(_formula_text(raw), self._number(key[0]))
                finally:
                    self.stack.discard(key)
            v = _value(raw, "amount", None)
            return float(v.arith) if v.state in ("number", "converted") else 0.0
        return lookup

    def value(self, sheet: str, ref: str, ctype: str, unit: str | None) -> Value:
        col, row = addr.split_ref(ref)
        raw = self._raw(sheet, col, row)
        if not _is_formula(raw):
            return _value(raw, ctype, unit)
        text = _formula_text(raw)
        cached = _at(self.grid, sheet, row - 1, col - 1)
        try:
            result = evaluate(text, self._number(sheet))
        except FormulaError as e:
            if isinstance(cached, int | float) and not isinstance(cached, bool):
                v = _value(cached, ctype, unit)
                why = f"无法重新计算（{e}），按文件中保存的结果 {format_number(cached)} 读取"
                return Value(v.raw, v.state, v.number, why if v.state == "number" else v.why, formula=text)
            return Value(text, "unreadable",
                         why=f"是公式，文件中没有保存计算结果，且无法重新计算（{e}），无法读取")
        v = _value(result, ctype, unit)
        if v.state == "invalid":
            return Value(text, "invalid", why=f"是公式，计算结果 {format_number(result)} {v.why}")
        if cached is None:
            why = f"文件中未保存计算结果，已按公式计算为 {format_number(result)}"
        elif isinstance(cached, int | float) and abs(float(cached) - result) > 1e-9:
            why = f"已按公式重新计算为 {format_number(result)}（文件中保存的结果 {format_number(cached)} 已过期）"
        else:
            why = f"按公式计算为 {format_number(result)}（建议填写数值）"
        return Value(text, v.state, v.number, why, formula=text)


def _is_formula(raw: Any) -> bool:
    if isinstance(raw, str):
        return raw.startswith("=") and len(raw) > 1
    return type(raw).__name__ in ("ArrayFormula", "DataTableFormula")


def _formula_text(raw: Any) -> str:
    return raw if isinstance(raw, str) else str(getattr(raw, "text", "") or "")
