"""The full reader (``check``): openpyxl for names and formulas, python-calamine for the
values Excel cached; formulas recomputed (see :mod:`gkreport.core.formula`).

Split from :mod:`gkreport.readers.workbook` (which re-exports the public names).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from gkreport.core import addresses as addr
from gkreport.core.forms import Form
from gkreport.core.formula import FormulaError, evaluate
from gkreport.core.report import Report
from gkreport.core.values import Value, format_number

from .files import ReadError
from .ooxml import STRICT_MARK, to_transitional
from .workbook_layout import (
    Grid,
    _at,
    _calamine_grid,
    _detect_by_layout,
    _layout,
    _no_layout_message,
    _value,
    detect_form_by_names,
    name_target,
)


def _read_full(path: Path, form: str | None) -> Report:
    grid = _LazyGrid(path)
    try:
        wb = openpyxl.load_workbook(_openpyxl_source(path), data_only=False, keep_links=False)
    except Exception as e:  # openpyxl raises many types on malformed parts
        raise _load_error(e) from None
    try:
        names = _names(wb)
        f = detect_form_by_names(names, form)
        misplaced: dict[str, str] = {}
        if f is None:
            f = _detect_by_layout(grid, form)
            if f is None:
                raise _no_layout_message(grid)
            names = {**{cid: (c.sheet, c.ref) for cid, c in f.cells.items()},
                     **{h.id: (h.sheet, h.cell) for h in f.header}}
            misplaced = _misplaced_cells(f, grid)
        used = [names[i] for i in [*f.cells, *(h.id for h in f.header)] if i in names]
        missing_sheets = sorted({s for s, _ in used if s not in wb.sheetnames})
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
            v = formulas.value(sheet, ref, cell.type, cell.unit)
            values[cid] = Value(v.raw, "unreadable", why=misplaced[cid]) if cid in misplaced else v
        header: dict[str, object] = {}
        for h in f.header:
            loc = names.get(h.id, (h.sheet, h.cell))
            header[h.id] = formulas.plain(*loc)
        return Report(form=f, values=values, header=header, source=str(path), sheet_names=tuple(wb.sheetnames))
    finally:
        wb.close()


def _openpyxl_source(path: Path) -> io.BytesIO:
    """The file's bytes for openpyxl (given a file object, openpyxl does not refuse a
    workbook for its extension, e.g. an .xlsx renamed .xls, which the fast reader reads);
    for an ISO Strict workbook (which openpyxl reads as having no sheets) a copy with the
    Transitional namespaces, the same content otherwise."""
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if STRICT_MARK not in zf.read("xl/workbook.xml"):
                return io.BytesIO(data)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
                for info in zf.infolist():
                    part = zf.read(info)
                    out.writestr(info.filename, to_transitional(part) if info.filename.endswith((".xml", ".rels"))
                                 else part)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError):
        return io.BytesIO(data)  # openpyxl says what is wrong
    buf.seek(0)
    return buf


def _misplaced_cells(form: Form, grid: Grid) -> dict[str, str]:
    """Data cells read at the official positions of a workbook without names whose row or
    column label is not the official one: the table may have rows or columns inserted or
    deleted, so the number there may belong to another cell. Cell id -> why."""
    lay = _layout(form)
    out: dict[str, str] = {}
    for table in form.tables:
        for lab in table.labels:
            c1, r1, c2, r2 = addr.range_bounds(lab.range)
            got = _at(grid, table.sheet, r1 - 1, c1 - 1)
            if got is not None and lay.canon(str(got)) == lay.canon(lab.text):
                continue
            found = "空白" if got is None else f"“{str(got)[:30]}”"
            why = (f"所在行或列的标签应为“{lab.text[:30]}”，实为{found}（表格可能插入或删除了行、列），"
                   "按官方位置读取的数字可能属于别的格子，无法确认；请在原模板中填写")
            for cid, cell in form.cells.items():
                if cell.table != table.id or cid in out:
                    continue
                col, row = addr.split_ref(cell.ref)
                if r1 <= row <= r2 or c1 <= col <= c2:
                    out[cid] = why
    return out


class _LazyGrid(Mapping[str, list[list[Any]]]):
    """python-calamine's cached values of every sheet, read on first use: the full reader
    needs them only for formulas and for workbooks without names, so a file it reads by
    openpyxl alone is not refused for what python-calamine thinks of it (which is what
    lets the fast reader skip python-calamine too)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._grid: dict[str, list[list[Any]]] | None = None

    def _load(self) -> dict[str, list[list[Any]]]:
        if self._grid is None:
            self._grid = _calamine_grid(self.path)
        return self._grid

    def __getitem__(self, key: str) -> list[list[Any]]:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


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
        simple = name_target(dn.attr_text or "")
        if simple is not None:  # the common form, parsed as the fast reader parses it
            out[name] = simple
            continue
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


class _FormulaCells:
    """Values of cells, recomputing formulas instead of trusting their cached results."""

    def __init__(self, wb: openpyxl.Workbook, grid: Grid) -> None:
        self.wb = wb
        self.grid = grid
        self.stack: set[tuple[str, int, int]] = set()

    def _raw(self, sheet: str, col: int, row: int) -> Any:
        """The cell's value, or its formula wrapped in :class:`_Formula`: text typed into
        a cell that merely starts with "=" (stored as a string) is text, not a formula."""
        try:
            ws = self.wb[sheet]
        except KeyError:
            raise FormulaError(f"引用了不存在的工作表“{sheet}”") from None
        cell = ws.cell(row=row, column=col)
        return _Formula(cell.value) if cell.data_type == "f" else cell.value

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


@dataclass(frozen=True)
class _Formula:
    """A formula cell's content (a string "=...", an ArrayFormula or a DataTableFormula)."""

    content: Any


def _is_formula(raw: Any) -> bool:
    return isinstance(raw, _Formula)


def _formula_text(raw: _Formula) -> str:
    c = raw.content
    return c if isinstance(c, str) else str(getattr(c, "text", "") or "")
