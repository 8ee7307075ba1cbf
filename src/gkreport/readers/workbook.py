"""Read a workbook made from our template into a Report.

Cells are found by their defined names (the name is the cell id), so a clerk who
inserted a row or moved a table does not break reading; a workbook without the
names is matched against the official layout of each form. Two speeds:

- ``full`` (``check``): openpyxl for names and formulas, python-calamine for the
  values Excel cached. Formulas are recomputed (see :mod:`gkreport.core.formula`).
- ``fast`` (``consolidate``): the cells at the official positions, taken straight from
  the sheet XML and interpreted by openpyxl's own cell parser, only after proving that
  the full reader would read exactly those cells (every part well-formed and of a known
  kind, Transitional namespaces, the defined names at the official positions, no
  formulas among the cells read, ...). Anything not proven goes to the full reader,
  with the reason kept (:func:`fast_decline_reason`). Several times faster than openpyxl.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from gkreport.core import addresses as addr
from gkreport.core.forms import Form
from gkreport.core.forms_meta import table_prefixes
from gkreport.core.report import Report
from gkreport.core.values import MAX_ABS, Value
from gkreport.readers.files import ReadError, Sniffed, sniff
from gkreport.readers.numfmt import INVALID_TITLE_REGEX
from gkreport.readers.numfmt import cast_number as _cast_number
from gkreport.readers.ooxml import (
    MAIN_NS,
    CellXml,
    DamagedPart,
    Package,
    SheetScan,
    Unproven,
    inspect_package,
    unescape,
)
from gkreport.readers.ooxml_formulas import check_formulas
from gkreport.readers.ooxml_rescan import scan_sheet
from gkreport.readers.sheet_limits import check_cell_limits, check_sheet_limits
from gkreport.readers.workbook_layout import MIN_LAYOUT_SCORE as MIN_LAYOUT_SCORE
from gkreport.readers.workbook_layout import Grid as Grid
from gkreport.readers.workbook_layout import _all_ids, _layout, _value
from gkreport.readers.workbook_layout import detect_form_by_names as detect_form_by_names
from gkreport.readers.workbook_layout import layout_score as layout_score
from gkreport.readers.workbook_layout import name_target as name_target
from gkreport.readers.workbook_layout import warm_layout as warm_layout


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
            _say_declined(path, fast)
            check_cell_limits(sniffed.archive)  # sniffed without verifying: the full reader's limits
        return _full_reader()(path, form)
    finally:
        if own:
            sniffed.close()


def _say_declined(path: Path, reason: str) -> None:
    """Why the full reader reads ``path``, for a debug log (logging is imported here, when a
    file is declined: ~5 ms of every start otherwise)."""
    import logging

    logging.getLogger(__name__).debug("%s: full reader (%s)", path, reason)


def _full_reader() -> Callable[[Path, str | None], Report]:
    """The full reader (openpyxl), imported only when a file needs it: a file the fast reader
    accepts is read without importing openpyxl at all (~0.1 s of a one-file ``check``)."""
    from gkreport.commands.runtime import import_openpyxl

    import_openpyxl()  # without numpy, as every workbook command imports it
    from gkreport.readers.workbook_full import _read_full

    return _read_full


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
        for s in pkg.sheets:  # openpyxl parses every sheet's formulas, the sheets not read too
            check_formulas(pkg.parts[s.part])
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
            values[cid] = _SMALL[n] if n < len(_SMALL) else Value(n, "number", n) if n <= MAX_ABS \
                else _value(n, ctype, unit)
        else:
            values[cid] = _value(raw(sheet, ref), ctype, unit)
    header = {hid: raw(sheet, addr.make_ref(col0 + 1, row0 + 1)) for hid, sheet, row0, col0 in lay.header}
    return Report(form=f, values=values, header=header, source=str(path), sheet_names=tuple(titles))


_FORMULA = object()  # a cell holding a formula (the full reader recomputes those)
# The Values of the small counts nearly every cell holds, made once (Value is frozen, so they
# are shared safely): a frozen dataclass costs a microsecond and more to build, 200 times a file.
_SMALL = tuple(Value(n, "number", n) for n in range(1000))


_VERDICTS: dict[tuple[int, str | None, tuple[object, ...]], tuple[Mapping[str, str], Form | str]] = {}


def _names_verdict(names: Mapping[str, str], form: str | None) -> Form | str:
    """The form the full reader finds by the workbook's names, when every cell it reads is
    named at its official position; else why not. Once per distinct workbook part
    (``names`` comes from a cache in :mod:`gkreport.readers.ooxml`: equal parts, same object), and
    per rules overlay in effect (the verdict is a Form, whose rules the overlay changes)."""
    from gkreport.core.overlay import active_dir, signature

    key = (id(names), form, signature(active_dir()))
    hit = _VERDICTS.get(key)
    if hit is not None and hit[0] is names:
        return hit[1]
    try:
        verdict = _judge_names(_form_names(names), form)
    except Unproven as e:
        verdict = str(e)
    if len(_VERDICTS) > 64:
        _VERDICTS.clear()
    _VERDICTS[key] = (names, verdict)
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

    Only names the readers use matter (form cell ids, names under any form's table prefixes); one of those
    not in the simple ``'Sheet'!$A$1`` form (which both readers parse with
    :func:`name_target`) leaves the file to the full reader.
    """
    out: dict[str, tuple[str, str]] = {}
    prefixes = table_prefixes()
    ids = _all_ids()  # once, not per name (it looks up the rules overlay in effect)
    for name, text in names.items():
        if name not in ids and not name.startswith(prefixes):
            continue
        target = name_target(text)
        if target is None:
            raise Unproven(f"名称 {name} 的引用“{text}”不是单个单元格的简单形式")
        out[name] = target
    return out


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
        si = self.items[i]
        if len(si) == 1 and si[0].tag == _T_TAG and set(si[0].attrib) <= _T_ATTRS and not len(si[0]):
            # <si><t>text</t></si>, nearly every string: openpyxl's Text(t=text).content is the text
            content = si[0].text or ""
        else:
            content = _openpyxl_text(si)
        return content.replace("x005F_", "")


_T_TAG = f"{{{MAIN_NS}}}t"
_T_ATTRS = frozenset({"{http://www.w3.org/XML/1998/namespace}space"})


def _openpyxl_text(si: Any) -> str:
    """A rich or phonetic shared string, as openpyxl's ``read_string_table`` reads it."""
    from gkreport.commands.runtime import import_openpyxl

    import_openpyxl()
    from openpyxl.cell.text import Text

    text = Text.from_tree(si)
    if text is None:
        raise Unproven("共享字符串无法解析")
    return str(text.content)


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
    if plain is not None and plain[0] == "s" and plain[2] and plain[2].isascii() and plain[2].isdigit():
        return strings[int(plain[2])]  # <c r="B4" t="s"><v>3</v></c>: openpyxl's shared_strings[int("3")]
    cell = scan.get(ref)
    if cell is None:
        return None
    if cell.formula:
        return _FORMULA
    if cell.element().count(b"<") <= 2:
        return None  # an empty element (<c r="B10" s="10"></c>): None to openpyxl, whatever its type or style
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

    from gkreport.commands.runtime import import_openpyxl

    import_openpyxl()  # an unusual cell (a date, rich text, an error): openpyxl's own parser reads it
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900
    from openpyxl.worksheet._reader import WorkSheetParser

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
