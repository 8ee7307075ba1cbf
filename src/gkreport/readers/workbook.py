"""Read a workbook made from our template into a Report.

Cells are found by their defined names (the name is the cell id), so a clerk who
inserted a row or moved a table does not break reading; a workbook without the
names is matched against the official layout of each form. Two speeds:

- ``full`` (``check``): openpyxl for names and formulas, python-calamine for the
  values Excel cached. Formulas are recomputed (see :mod:`gkreport.formula`).
- ``fast`` (``consolidate``): the cells at the official positions, taken straight from
  the sheet XML and interpreted by openpyxl's own cell parser, only after proving that
  the full reader would read exactly those cells (every part well-formed and of a known
  kind, Transitional namespaces, the defined names at the official positions, no
  formulas among the cells read, ...). Anything not proven goes to the full reader,
  with the reason kept (:func:`fast_decline_reason`). Several times faster than openpyxl.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, cast

import openpyxl
import python_calamine as pc
from openpyxl.cell.text import Text
from openpyxl.workbook.child import INVALID_TITLE_REGEX
from openpyxl.worksheet._reader import WorkSheetParser, _cast_number  # type: ignore[attr-defined]

from .. import addresses as addr
from ..forms import Form, available_forms, load_form
from ..formula import FormulaError, evaluate
from ..labels import canonical
from ..ooxml import (
    MAIN_NS,
    STRICT_MARK,
    CellXml,
    DamagedPart,
    Package,
    SheetScan,
    Unproven,
    inspect_package,
    scan_sheet,
    to_transitional,
    unescape,
)
from ..report import Report
from ..values import BLANK, MAX_ABS, Value, format_number, parse_value
from .files import NotATemplate, ReadError, Sniffed, check_cell_limits, check_sheet_limits, sniff

Grid = Mapping[str, list[list[Any]]]  # sheet name -> rows of cached values (A1 at [0][0])
MIN_LAYOUT_SCORE = 0.9
_log = logging.getLogger(__name__)


def read_workbook(path: Path, form: str | None = None, *, mode: str = "full",
                  sniffed: Sniffed | None = None) -> Report:
    """Read ``path`` (an .xlsx/.xlsm made from the template); raise ReadError if unusable.

    ``sniffed`` is the caller's :func:`sniff` of the file (``read_any`` passes it, with
    the archive left open in fast mode), so the zip directory is not parsed twice.
    In fast mode the fast reader is used when it can show that it reads exactly what the
    full reader would (see :func:`_read_fast`); otherwise the full reader reads the file.
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
            fast = _read_fast(path, sniffed.archive, form)
            if isinstance(fast, Report):
                return fast
            _log.debug("%s: full reader (%s)", path, fast)
            check_cell_limits(sniffed.archive)  # sniffed without verifying: the full reader's limits
        return _read_full(path, form)
    finally:
        if own:
            sniffed.close()


def fast_decline_reason(path: Path, form: str | None = None) -> str | None:
    """Why the fast reader leaves ``path`` to the full reader (None: it reads it itself).

    For tests and benchmarks; raises ReadError where the fast reader would.
    """
    sniffed = sniff(Path(path), verify=False, keep_open=True)
    try:
        if sniffed.archive is None:
            return "不是 Excel 工作簿"
        fast = _read_fast(Path(path), sniffed.archive, form)
        return None if isinstance(fast, Report) else fast
    finally:
        sniffed.close()


# ---------------------------------------------------------------------------- fast path


def _read_fast(path: Path, zf: zipfile.ZipFile, form: str | None) -> Report | str:
    """The report, read at the official positions, or the reason (a string) it cannot be.

    The fast reader accepts a file only when everything the full reader depends on is
    what the fast reader assumes: every part well-formed and of a known kind, the
    Transitional namespace, the defined names of the form's cells pointing exactly at
    the official positions, the sheets there; and the cells themselves are interpreted by openpyxl's own cell parser
    (:func:`_cell_value`) from their XML, so a value, a date, a merged cell or text
    means the same to both readers. Formulas among the cells read go to the full reader
    (which recomputes them, or takes python-calamine's cached result).
    """
    try:
        pkg = inspect_package(zf)
    except DamagedPart as e:
        raise ReadError(f"文件已损坏（{e.args[0]} 校验失败），请重新保存或重新获取") from None
    except Unproven as e:
        return str(e)
    # The full reader's work limits, on the parts already inflated: what it refuses, this refuses.
    check_sheet_limits((s.name, pkg.parts[s.part]) for s in pkg.sheets if s.part in pkg.parts)
    try:
        return _fast_report(path, pkg, form)
    except Unproven as e:
        return str(e)
    except Exception as e:  # anything unexpected is, by definition, not proven
        return f"快速读取时出错（{type(e).__name__}）"


def _fast_report(path: Path, pkg: Package, form: str | None) -> Report:
    titles = [s.name for s in pkg.sheets]
    if len({t.lower() for t in titles}) != len(titles) or any(INVALID_TITLE_REGEX.search(t) for t in titles):
        raise Unproven("工作表名称重复或含有 openpyxl 不接受的字符")
    verdict = _names_verdict(pkg.names, form)
    if isinstance(verdict, str):
        raise Unproven(verdict)
    f = verdict
    lay = _layout(f)
    entries = {s.name: s for s in pkg.sheets}
    strings = _SharedStrings(pkg.parts.get(pkg.shared_strings or ""))
    scans: dict[str, SheetScan] = {}
    for sheet, refs in lay.refs_by_sheet.items():
        entry = entries.get(sheet)
        if entry is None:
            raise Unproven(f"缺少工作表“{sheet}”")
        scan = scans[sheet] = scan_sheet(pkg.parts[entry.part], refs)
        if scan.max_style >= pkg.style_count:
            raise Unproven(f"工作表“{sheet}”有单元格引用了不存在的样式")

    def raw(sheet: str, ref: str) -> Any:
        got = _cell_value(scans[sheet], ref, pkg, strings)
        if got is _FORMULA:
            # data cells: the full reader recomputes them; header cells: it takes
            # python-calamine's cached result, which this reader does not read
            raise Unproven(f"单元格 {sheet}!{ref} 是公式")
        return got

    values: dict[str, Value] = {}
    dates = pkg.date_styles
    for cid, sheet, ref, ctype, unit in lay.typed:
        plain = scans[sheet].plain.get(ref)
        if plain is not None and plain[0] == "n" and plain[2] and plain[2].isascii() and plain[2].isdigit() \
                and plain[1] not in dates and ref not in scans[sheet].covered:
            # <c r="D7"><v>5</v></c>, most cells: openpyxl's int("5"), then _value's int case
            n = int(plain[2])
            values[cid] = Value(n, "number", n) if n <= MAX_ABS else _value(n, ctype, unit)
        else:
            values[cid] = _value(raw(sheet, ref), ctype, unit)
    header = {hid: raw(sheet, addr.make_ref(col0 + 1, row0 + 1)) for hid, sheet, row0, col0 in lay.header}
    return Report(form=f, values=values, header=header, source=str(path), sheet_names=tuple(titles))


_FORMULA = object()  # a cell holding a formula (the full reader recomputes those)


_VERDICTS: dict[tuple[int, str | None], tuple[Mapping[str, str], Form | str]] = {}


def _names_verdict(names: Mapping[str, str], form: str | None) -> Form | str:
    """The form the full reader finds by the workbook's names, when every cell it reads is
    named at its official position; else why not. Once per distinct workbook part
    (``names`` comes from a cache in :mod:`gkreport.ooxml`: equal parts, same object)."""
    hit = _VERDICTS.get((id(names), form))
    if hit is not None and hit[0] is names:
        return hit[1]
    try:
        verdict = _judge_names(_form_names(names), form)
    except Unproven as e:
        verdict = str(e)
    if len(_VERDICTS) > 64:
        _VERDICTS.clear()
    _VERDICTS[id(names), form] = (names, verdict)
    return verdict


def _judge_names(names: Mapping[str, tuple[str, str]], form: str | None) -> Form | str:
    f = detect_form_by_names(names, form)
    if f is None:
        # Found by its printed labels, the full reader needs python-calamine's values.
        return "工作簿没有本工具模板的名称"
    lay = _layout(f)
    for cid, sheet, ref in lay.refs:
        if names.get(cid, (sheet, ref) if cid in lay.header_ids else None) != (sheet, ref):
            return f"名称 {cid} 指向 {names.get(cid)}，不是官方位置 {sheet}!{ref}"
    return f


def _form_names(names: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The defined names the full reader's form detection and lookups can see, as it sees them.

    Only names the readers use matter (form cell ids, t1./t2./t3. names); one of those
    not in the simple ``'Sheet'!$A$1`` form (which both readers parse with
    :func:`name_target`) leaves the file to the full reader.
    """
    out: dict[str, tuple[str, str]] = {}
    for name, text in names.items():
        if name not in _all_ids() and not name.startswith(("t1.", "t2.", "t3.")):
            continue
        target = name_target(text)
        if target is None:
            raise Unproven(f"名称 {name} 的引用“{text}”不是单个单元格的简单形式")
        out[name] = target
    return out


_SIMPLE_NAME = re.compile(r"(?:'((?:[^']|'')+)'|([^'!:\s,()&\"#=+\-*/^<>;{}]+))!(\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6})"
                          r"(?::\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6})?")


def name_target(text: str) -> tuple[str, str] | None:
    """(sheet, first cell) of a defined name written ``'Sheet'!$A$1`` (or a range), as
    openpyxl's ``destinations`` gives it; None for any other form."""
    m = _SIMPLE_NAME.fullmatch(text.strip())
    if m is None:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
    return sheet, m.group(3).replace("$", "")


@cache
def _all_ids() -> frozenset[str]:
    return frozenset(i for v in available_forms() for i in [*load_form(v).cells, *(h.id for h in load_form(v).header)])


class _SharedStrings:
    """openpyxl's shared-string table (``read_string_table``), parsed only when a read cell
    refers to it and then only the strings asked for are built."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self.items: list[Any] | None = None

    def __getitem__(self, i: int) -> str:
        if self.items is None:
            if self.data is None:
                raise Unproven("单元格引用了共享字符串，但工作簿没有共享字符串表")
            from lxml import etree

            root = etree.fromstring(self.data, etree.XMLParser(resolve_entities=False, no_network=True))
            self.items = list(root.iter(f"{{{MAIN_NS}}}si"))
        text = Text.from_tree(self.items[i])
        if text is None:
            raise Unproven(f"共享字符串 {i} 无法解析")
        return str(text.content).replace("x005F_", "")


def _cell_value(scan: SheetScan, ref: str, pkg: Package, strings: _SharedStrings) -> Any:
    """What openpyxl's ``cell.value`` is for ``ref`` (``_FORMULA`` for a formula cell).

    Plain numbers (nearly every cell) are converted here exactly as openpyxl's
    ``WorkSheetParser.parse_cell`` does; every other cell is handed to that very method.
    """
    if ref in scan.covered:
        return None  # openpyxl empties every cell of a merged range but the top-left one
    plain = scan.plain.get(ref)
    if plain is not None and plain[0] == "n" and plain[1] not in pkg.date_styles:
        if not plain[2]:
            return None
        try:
            return _cast_number(plain[2])
        except ValueError:
            raise Unproven(f"单元格 {ref} 的数值“{plain[2]}”无法解析") from None
    cell = scan.get(ref)
    if cell is None:
        return None
    if cell.formula:
        return _FORMULA
    if cell.t == "inlineStr":
        simple = _SIMPLE_INLINE.search(cell.element())
        if simple is not None and b"\r" not in simple.group(1):
            # <is><t>text</t></is>: openpyxl's Text(t=...).content is the text itself
            return unescape(simple.group(1).decode("utf-8"))
    if cell.t == "n" and not cell.inline and cell.s not in pkg.date_styles:
        if not cell.v:
            return None
        try:
            return _cast_number(cell.v)
        except ValueError:
            raise Unproven(f"单元格 {ref} 的数值“{cell.v}”无法解析") from None
    return _parse_cell(cell, scan.prefix, pkg, strings)


_SIMPLE_INLINE = re.compile(rb"""^<c\s[^<]*><is><t(?:\s+xml:space=["']preserve["'])?>([^<]+)</t></is></c>$""")


def _parse_cell(cell: CellXml, prefix: bytes, pkg: Package, strings: _SharedStrings) -> Any:
    from lxml import etree
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    decl = b' xmlns="%s"' % MAIN_NS.encode()
    if prefix:
        decl += b' xmlns:%s="%s"' % (prefix[:-1], MAIN_NS.encode())
    parser = WorkSheetParser(cast(Any, None), strings, data_only=False,
                             epoch=CALENDAR_MAC_1904 if pkg.date1904 else CALENDAR_WINDOWS_1900,
                             date_formats=pkg.date_styles, timedelta_formats=pkg.timedelta_styles)
    try:
        el = etree.fromstring(b"<w%s>%s</w>" % (decl, cell.element()), etree.XMLParser(resolve_entities=False))[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parser.parse_cell(el)
    except Unproven:
        raise
    except Exception as e:  # openpyxl would fail to load the workbook on this cell
        raise Unproven(f"单元格 {cell.ref} 无法按 openpyxl 的方式解析（{type(e).__name__}）") from None
    return _FORMULA if parsed["data_type"] == "f" else parsed["value"]


def _calamine_grid(path: Path, nrows: int = 400) -> dict[str, list[list[Any]]]:
    """Cached cell values by sheet (what Excel last computed for formula cells)."""
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


# ---------------------------------------------------------------------------- full path


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
