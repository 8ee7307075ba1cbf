"""Facts about an .xlsx package read straight from its zip parts, without a full parse.

Two users:

- the consolidation reader (1000s of files) must know, before trusting python-calamine's
  values at the official positions, that openpyxl (the full reader ``check`` uses) would
  read the very same cells: :func:`inspect_package` and :func:`scan_sheet` collect what
  that takes (sheets, defined names, styles that make numbers dates, the XML of the cells
  read, merges, whether every part is well-formed) cheaply, from the zip already open;
- the bulk-row writer needs the part of the sheet it appends to (:func:`sheet_parts`).

Regular expressions are used only on parts that expat has found well-formed and that are
written in the one shape the expressions are made for (one namespace prefix for
SpreadsheetML, no DTD, comments or CDATA in sheets, every cell with its address).
Anything else raises :class:`Unproven`: the caller then uses the full reader, never a guess.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from xml.parsers import expat

if TYPE_CHECKING:
    from lxml import etree

from . import ooxml_skeleton
from .ooxml_common import MAIN_NS as MAIN_NS
from .ooxml_common import REL_NS as REL_NS
from .ooxml_common import STRICT_MARK as STRICT_MARK
from .ooxml_common import STRICT_TO_TRANSITIONAL as STRICT_TO_TRANSITIONAL
from .ooxml_common import DamagedPart as DamagedPart
from .ooxml_common import Unproven as Unproven
from .ooxml_common import unescape as unescape
from .ooxml_members import read_member
from .ooxml_sheet import CellXml as CellXml
from .ooxml_sheet import SheetScan as SheetScan
from .ooxml_sheet import scan_sheet as scan_sheet

_TAG = {
    "sheet": re.compile(rb"<(?:\w+:)?sheet\s[^>]*>"),
    "rel": re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>"),
}
_ATTR_NAME = re.compile(rb"""\sname\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTR_RID = re.compile(rb"""\s\w+:id\s*=\s*(?:"([^"]*)"|'([^']*)')""")  # r:id (any prefix); not sheetId
_ATTR_ID = re.compile(rb"""\sId\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTR_TARGET = re.compile(rb"""\sTarget\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,6}")

# Zip members a template workbook saved by Excel, WPS, LibreOffice or openpyxl may hold,
# whose handling by both readers is known. Anything else (drawings, charts, pivot tables,
# tables, external links, macros, ...) is something openpyxl parses and may refuse.
_KNOWN_PARTS = re.compile(
    r"\[Content_Types\]\.xml|_rels/\.rels|docProps/(?:app|core|custom)\.xml|docProps/thumbnail\.\w+"
    r"|xl/workbook\.xml|xl/_rels/workbook\.xml\.rels|xl/styles\.xml|xl/sharedStrings\.xml"
    r"|xl/theme/theme\d+\.xml|xl/calcChain\.xml|xl/worksheets/sheet\d+\.xml"
    r"|xl/worksheets/_rels/sheet\d+\.xml\.rels|xl/printerSettings/printerSettings\d+\.bin"
    r"|customXml/.*|.*/"
)
_NOT_XML = re.compile(r".*\.(?:bin|jpe?g|png|emf|wmf)|customXml/.*|.*/")


# --------------------------------------------------------------------------- simple facts


def _attr(m: re.Match[bytes] | None) -> bytes | None:
    if m is None:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip member of its part (``xl/worksheets/sheet1.xml``); {} if unknown."""
    try:
        wb = _head(zf, "xl/workbook.xml", b"</sheets>")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    return sheet_parts_of(wb, rels)


def sheet_parts_of(wb: bytes, rels: bytes) -> dict[str, str]:
    """:func:`sheet_parts` from the workbook part (or its start) and its relationships, already read."""
    targets = _rel_targets(rels)
    out: dict[str, str] = {}
    for tag in _TAG["sheet"].findall(wb):
        name, rid = _attr(_ATTR_NAME.search(tag)), _attr(_ATTR_RID.search(tag))
        if name is None or rid is None or rid not in targets:
            continue
        out[unescape(name.decode("utf-8"))] = _resolve("xl/workbook.xml", targets[rid][0])
    return out


@lru_cache(maxsize=64)
def _rel_targets(rels: bytes) -> dict[bytes, tuple[str, str, bool]]:
    """Id -> (target as written, relationship type, external?) of a .rels part."""
    out: dict[bytes, tuple[str, str, bool]] = {}
    for tag in _TAG["rel"].findall(rels):
        rid, target = _attr(_ATTR_ID.search(tag)), _attr(_ATTR_TARGET.search(tag))
        if rid is None or target is None:
            continue
        attrs = _attrs(tag)
        out[rid] = (unescape(target.decode("utf-8")), attrs.get("Type", ""), attrs.get("TargetMode") == "External")
    return out


def _resolve(source: str, target: str) -> str:
    """A relationship's target as a zip member name, relative to the part ``source``."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _head(zf: zipfile.ZipFile, name: str, until: bytes) -> bytes:
    """The start of a member up to ``until`` (workbook.xml lists its sheets before the
    often much longer defined names): no need to inflate the rest."""
    out = b""
    with zf.open(name) as fh:
        while chunk := fh.read(8192):
            out += chunk
            if until in out:
                break
    return out


def _attrs(tag: bytes) -> dict[str, str]:
    return {m.group(1).decode("utf-8"): unescape((m.group(2) if m.group(2) is not None else m.group(3)).decode("utf-8"))
            for m in _ATTR.finditer(tag)}


# --------------------------------------------------------------------------- the package


@dataclass(frozen=True)
class SheetEntry:
    name: str
    part: str
    kind: str  # the relationship type's last word: worksheet, chartsheet, ...


@dataclass(frozen=True)
class Package:
    """What the fast reader needs to know about a workbook's package, all parts verified."""

    sheets: tuple[SheetEntry, ...]
    names: Mapping[str, str]  # workbook-level defined name -> its formula text (openpyxl's view)
    date1904: bool
    date_styles: frozenset[int]  # cell style indexes openpyxl reads as dates
    timedelta_styles: frozenset[int]
    style_count: int
    parts: Mapping[str, bytes]  # every XML member, inflated (CRC verified)
    shared_strings: str | None  # the member openpyxl reads shared strings from


def inspect_package(zf: zipfile.ZipFile) -> Package:
    """Read every member once (which verifies its CRC, like ``sniff``'s full check) and
    establish that the package is one both readers understand the same way.

    Raises :class:`DamagedPart` for a member that fails its CRC, :class:`Unproven` for
    anything outside the known shape (the full reader then decides).
    """
    parts: dict[str, bytes] = {}
    for info in zf.infolist():
        name = info.filename
        if not _KNOWN_PARTS.fullmatch(name):
            raise Unproven(f"含有快速读取不处理的部件 {name}")
        if name.endswith("/"):
            continue
        try:
            data = read_member(zf, info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
            raise DamagedPart(name) from None
        if _NOT_XML.fullmatch(name):
            continue
        _well_formed(data)
        parts[name] = data
    for name in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if name not in parts:
            raise Unproven(f"缺少部件 {name}")
    if STRICT_MARK in parts["xl/workbook.xml"][:4096] or STRICT_MARK in parts["xl/_rels/workbook.xml.rels"]:
        raise Unproven("ISO Strict 格式")
    ct = _content_types(parts["[Content_Types].xml"])
    wb = _workbook(parts["xl/workbook.xml"])
    rels = _rel_targets(parts["xl/_rels/workbook.xml.rels"])
    sheets = []
    for name, rid in wb.sheets:
        if rid not in rels:
            raise Unproven(f"工作表“{name}”的关系缺失")
        target, rtype, external = rels[rid]
        part = _resolve("xl/workbook.xml", target)
        if external or part not in parts:
            raise Unproven(f"工作表“{name}”的部件 {part} 不存在")
        kind = rtype.rsplit("/", 1)[-1]
        if not rtype.startswith(REL_NS) or kind != "worksheet":
            raise Unproven(f"工作表“{name}”不是普通工作表（{kind}）")
        sheets.append(SheetEntry(name, part, kind))
    if len({s.part for s in sheets}) != len(sheets):
        raise Unproven("两个工作表共用一个部件")
    members = set(zf.namelist())
    for name in parts:
        if name.endswith(".rels"):
            _rels_resolve(name, parts, members)
    strings = [_resolve("xl/workbook.xml", t) for t, rtype, _ in rels.values() if rtype.endswith("/sharedStrings")]
    if sorted(strings) != sorted(ct.shared_strings) or len(strings) > 1:
        raise Unproven("共享字符串部件的登记不一致")
    styled = [_resolve("xl/workbook.xml", t) for t, rtype, _ in rels.values() if rtype.endswith("/styles")]
    if styled not in ([], ["xl/styles.xml"]) or ("xl/styles.xml" in parts) != bool(styled):
        raise Unproven("样式部件不在通常位置")
    styles = _styles(parts["xl/styles.xml"]) if "xl/styles.xml" in parts else (frozenset(), frozenset(), 0)
    if styles[2] == 0:
        raise Unproven("工作簿没有单元格样式")
    return Package(tuple(sheets), wb.names, wb.date1904, styles[0], styles[1], styles[2], parts,
                   strings[0] if strings else None)


def _rels_resolve(name: str, parts: Mapping[str, bytes], members: set[str]) -> None:
    """Every internal target of a .rels part exists (openpyxl opens them; a missing one fails it)."""
    for member in _internal_targets(name, parts[name]):
        if member not in members:
            raise Unproven(f"{name} 指向不存在的部件 {member}")


@lru_cache(maxsize=64)
def _internal_targets(name: str, data: bytes) -> tuple[str, ...]:
    source = name.replace("_rels/", "").removesuffix(".rels")  # "_rels/.rels": the package root
    return tuple(_resolve(source, t) for t, _, external in _rel_targets(data).values() if not external)


def _well_formed(data: bytes) -> None:
    """expat (with namespaces, as openpyxl's parser) accepts the part. Remembered for the very
    same bytes object: parts every file shares (styles, theme, workbook, ...) are handed over as
    one object (:mod:`gkreport.readers.ooxml_members`) and parsed once per process, and a part of
    one file only is not hashed (100 KB of sheets a file) for a cache it never hits."""
    hit = _WELL_FORMED.get(id(data))
    if hit is None or hit[0] is not data:
        shape = ooxml_skeleton.skeleton_of(data)
        if ooxml_skeleton.known_well_formed(shape):
            return  # another file's part, with other numbers only, was accepted (see ooxml_skeleton)
        try:
            _parse(data)
            verdict: str | None = None
            ooxml_skeleton.accepted(shape)
        except Unproven as e:
            verdict = str(e)
        hit = (data, verdict)
        if len(data) <= 4 * 1024 * 1024:  # shared parts are small: a huge one is not kept alive
            _WELL_FORMED[id(data)] = hit
            while len(_WELL_FORMED) > 64:
                _WELL_FORMED.popitem(last=False)
    else:
        _WELL_FORMED.move_to_end(id(data))
    if hit[1] is not None:
        raise Unproven(hit[1])


_WELL_FORMED: OrderedDict[int, tuple[bytes, str | None]] = OrderedDict()


def _parse(data: bytes) -> None:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Unproven("含有 DTD（实体声明）")
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise Unproven(f"XML 格式错误（{e}）") from None


@dataclass(frozen=True)
class _ContentTypes:
    shared_strings: tuple[str, ...]


_CT_SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_CT_MAIN = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
)


@lru_cache(maxsize=64)
def _content_types(data: bytes) -> _ContentTypes:
    """openpyxl finds the workbook and the shared strings by their content types."""
    overrides = [_attrs(m.group(0)) for m in re.finditer(rb"<(?:\w+:)?Override\s[^>]*>", data)]
    main = [o.get("PartName", "") for o in overrides if o.get("ContentType") in _CT_MAIN]
    if main != ["/xl/workbook.xml"]:
        raise Unproven("内容类型中的工作簿部件不是 /xl/workbook.xml")
    sst = tuple(o.get("PartName", "").lstrip("/") for o in overrides if o.get("ContentType") == _CT_SST)
    return _ContentTypes(sst)


@dataclass(frozen=True)
class _Workbook:
    sheets: tuple[tuple[str, bytes], ...]  # name, r:id
    names: Mapping[str, str]
    date1904: bool


@lru_cache(maxsize=64)
def _workbook(data: bytes) -> _Workbook:
    """Sheets, workbook-level defined names (as openpyxl keeps them: the last of equal
    names wins; print titles/areas and filters dropped) and the date system."""
    from lxml import etree

    root = etree.fromstring(data, _lxml_parser())
    m = f"{{{MAIN_NS}}}"
    if root.tag != m + "workbook":
        raise Unproven("工作簿部件不是 SpreadsheetML（过渡格式）")
    sheets = []
    for el in root.iterfind(f"{m}sheets/{m}sheet"):
        rid = el.get(f"{{{REL_NS}}}id")
        name = el.get("name")
        if rid is None or name is None:
            raise Unproven("工作表缺少名称或关系")
        sheets.append((name, rid.encode("utf-8")))
    names: dict[str, str] = {}
    for el in root.iterfind(f"{m}definedNames/{m}definedName"):
        name = el.get("name")
        if name is None:
            raise Unproven("定义的名称缺少 name")
        if el.get("localSheetId") is not None:
            if not el.get("localSheetId", "").isdigit():
                raise Unproven("定义的名称的 localSheetId 无效")
            continue
        if name in ("_xlnm.Print_Titles", "_xlnm.Print_Area", "_xlnm._FilterDatabase"):
            continue
        names[name] = el.text or ""
    pr = root.find(f"{m}workbookPr")
    date1904 = pr is not None and pr.get("date1904", "false").lower() in ("1", "true")
    return _Workbook(tuple(sheets), names, date1904)


@lru_cache(maxsize=64)
def _styles(data: bytes) -> tuple[frozenset[int], frozenset[int], int]:
    """Indexes of the cell styles openpyxl turns numbers into dates / durations with
    (its ``Stylesheet._normalise_numbers``), and how many cell styles there are."""
    from lxml import etree

    from .numfmt import builtin_format_code, is_date_format, is_timedelta_format  # openpyxl's, pinned

    root = etree.fromstring(data, _lxml_parser())
    m = f"{{{MAIN_NS}}}"
    if root.tag != m + "styleSheet":
        raise Unproven("样式部件不是 SpreadsheetML（过渡格式）")
    custom: dict[int, str] = {}
    for el in root.iterfind(f"{m}numFmts/{m}numFmt"):
        try:
            custom[int(el.get("numFmtId", ""))] = el.get("formatCode", "")
        except ValueError:
            raise Unproven("数字格式编号无效") from None
    dates, spans, count = set(), set(), 0
    for idx, xf in enumerate(root.iterfind(f"{m}cellXfs/{m}xf")):
        count += 1
        try:
            fid = int(xf.get("numFmtId", "0"))
        except ValueError:
            raise Unproven("数字格式编号无效") from None
        fmt = custom[fid] if fid in custom else builtin_format_code(fid)
        if is_date_format(fmt):
            dates.add(idx)
        if is_timedelta_format(fmt):
            spans.add(idx)
    return frozenset(dates), frozenset(spans), count


@lru_cache(maxsize=1)
def _lxml_parser() -> etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False)


def to_transitional(data: bytes) -> bytes:
    """One part of a Strict workbook with its namespaces renamed to Transitional ones."""
    for strict, transitional in STRICT_TO_TRANSITIONAL:
        data = data.replace(strict, transitional)
    return data
