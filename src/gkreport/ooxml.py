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
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from xml.parsers import expat
from xml.sax.saxutils import escape

from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
STRICT_MARK = b"http://purl.oclc.org/ooxml/"
# ISO/IEC 29500 Strict namespaces and their Transitional equivalents (ECMA-376 Part 1 vs
# Part 4): a Strict workbook read through this table is an ordinary one to openpyxl.
STRICT_TO_TRANSITIONAL = (
    (b"http://purl.oclc.org/ooxml/spreadsheetml/main", MAIN_NS.encode()),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships", REL_NS.encode()),
    (b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/customProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
     b"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"),
    (b"http://purl.oclc.org/ooxml/officeDocument/sharedTypes",
     b"http://schemas.openxmlformats.org/officeDocument/2006/sharedTypes"),
    (b"http://purl.oclc.org/ooxml/drawingml/main", b"http://schemas.openxmlformats.org/drawingml/2006/main"),
    (b"http://purl.oclc.org/ooxml/drawingml/chart", b"http://schemas.openxmlformats.org/drawingml/2006/chart"),
    (b"http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing",
     b"http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"),
)

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


_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def unescape(text: str) -> str:
    """XML character and entity references resolved as an XML parser does (not as HTML:
    ``html.unescape`` maps &#128; to "€", XML to U+0080)."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: chr(int(m[1], 16)) if m[1] else chr(int(m[2])) if m[2] else _ENTITIES[m[3]], text)


class Unproven(Exception):
    """The fast reader cannot show that it reads what the full reader reads (the message says why)."""


class DamagedPart(Exception):
    """A zip member fails its CRC check or cannot be inflated (``args[0]`` is its name)."""


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
            data = _member(zf, info)
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


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, its size and CRC checked: ``zf.read`` without the per-member
    file-object machinery (half the cost for a dozen small parts); anything unusual
    (encryption, another compression method, an odd local header) goes through ``zf.read``."""
    fp = zf.fp
    if fp is None or info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return zf.read(info)
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return zf.read(info)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    raw = fp.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        data = inflater.decompress(raw, info.file_size + 1)  # bounded: a lying size cannot inflate a bomb
    else:
        data = raw
    if len(raw) != info.compress_size or len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 or size for {info.filename}")
    return data


def _rels_resolve(name: str, parts: Mapping[str, bytes], members: set[str]) -> None:
    """Every internal target of a .rels part exists (openpyxl opens them; a missing one fails it)."""
    for member in _internal_targets(name, parts[name]):
        if member not in members:
            raise Unproven(f"{name} 指向不存在的部件 {member}")


@lru_cache(maxsize=64)
def _internal_targets(name: str, data: bytes) -> tuple[str, ...]:
    source = name.replace("_rels/", "").removesuffix(".rels")  # "_rels/.rels": the package root
    return tuple(_resolve(source, t) for t, _, external in _rel_targets(data).values() if not external)


@lru_cache(maxsize=64)
def _well_formed(data: bytes) -> None:
    """expat (with namespaces, as openpyxl's parser) accepts the part. Cached by content:
    parts every file shares (styles, theme, workbook, ...) are parsed once per process."""
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
    from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format

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
def _lxml_parser() -> object:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False)


# --------------------------------------------------------------------------- one sheet


class CellXml(NamedTuple):
    """One cell element as written, for the cells a reader reads."""

    ref: str
    xml: bytes | None  # the whole <c>…</c> element (None: see ``attrs``)
    t: str
    s: int
    v: str | None  # the text of <v> (unescaped), None without <v>
    formula: bool
    inline: bool  # has an <is> child
    attrs: bytes = b""  # when ``xml`` is None: the cell was <c r=".." attrs/> or <c ..><v>v</v></c>

    def element(self) -> bytes:
        """The cell element (rebuilt for the plain cells the scan did not keep it for)."""
        if self.xml is not None:
            return self.xml
        content = b"" if self.v is None else b"<v>" + escape(self.v).encode("utf-8") + b"</v>"
        return _cell_xml(b"", self.attrs, self.ref.encode("ascii"), b"", content)


@dataclass(frozen=True)
class SheetScan:
    cells: Mapping[str, CellXml]  # the wanted cells present in the part, but for ``plain`` ones
    covered: frozenset[str]  # wanted cells inside a merged range, not its top-left (openpyxl: empty)
    prefix: bytes  # the SpreadsheetML prefix used in the part (b"" or b"x:")
    max_style: int
    # <c r=".." ../> or <c r=".." ..><v>text</v></c>, nearly every cell: ref -> (t, s, text
    # of <v> or None, the attributes); kept as a tuple, a CellXml is made only on demand
    plain: Mapping[str, tuple[str, int, str | None, bytes]] = field(default_factory=dict)

    def get(self, ref: str) -> CellXml | None:
        if ref in self.plain:
            t, style, v, attrs = self.plain[ref]
            return CellXml(ref, None, t, style, v, False, False, attrs)
        return self.cells.get(ref)


_DECL = re.compile(rb"(?:\xef\xbb\xbf)?(?:<\?xml\s([^>]*)\?>|\s*<)")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_ROOT = re.compile(rb"<(?:(\w+):)?worksheet[\s>]")
_NS_DECL = re.compile(rb"""xmlns(?::(\w+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")


_VAL = rb"""(?:"[^"]*"|'[^']*')"""
_ATTRS = rb"(?:\s+[^\s=/>]+\s*=\s*" + _VAL + rb")*"
_CANON = rb"[A-Z]{1,3}[1-9][0-9]{0,6}"


@lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> tuple[re.Pattern[bytes], ...]:
    p = re.escape(prefix)
    any_cell = re.compile(rb"<" + p + rb"c[\s/>]")
    # Every cell: its attributes before and after a canonical address, and its content.
    # Attribute-aware (a ">" inside a quoted value does not end the tag); cells do not
    # nest, so the first end tag after a start tag is its own. A cell this misses (no
    # address, an odd one) makes the counts differ and the sheet unproven.
    cell = re.compile(rb"<" + p + rb"c(" + _ATTRS.replace(b")*", b")*?") + rb")\s+r\s*=\s*(?:\"(" + _CANON
                      + rb")\"|'(" + _CANON + rb")')(" + _ATTRS + rb")\s*(?:/>|>(.*?)</" + p + rb"c>)", re.S)
    row = re.compile(rb"<" + p + rb"row(" + _ATTRS + rb")\s*/?>")
    any_row = re.compile(rb"<" + p + rb"row[\s/>]")
    col = re.compile(rb"<" + p + rb"col(" + _ATTRS + rb")\s*/?>")
    formula = re.compile(rb"<" + p + rb"f[\s/>]")
    value = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?(?:/>|>([^<]*)</" + p + rb"v>)")
    inline = re.compile(rb"<" + p + rb"is[\s/>]")
    any_merge = re.compile(rb"<" + p + rb"mergeCell[\s/>]")
    merge = re.compile(rb"<" + p + rb"mergeCell\s+ref\s*=\s*(?:\"([^\"]*)\"|'([^']*)')\s*/>")
    return any_cell, cell, formula, value, inline, any_merge, merge, row, any_row, col


_R_ATTR = re.compile(rb"""\sr\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_T_ATTR = re.compile(rb"""\st\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_S_ATTR = re.compile(rb"""\ss\s*=\s*(?:"([^"]*)"|'([^']*)')""")


@lru_cache(maxsize=32)
def _as_bytes(wanted: frozenset[str]) -> frozenset[bytes]:
    return frozenset(r.encode("ascii") for r in wanted)


_FAST_CELL = re.compile(rb'<c r="(' + _CANON + rb')"((?: [a-z]+="[^"<>]*")*)(?:(/)>|><v>([^<]*)</v></c>|>)')
_STYLE_ATTR = re.compile(rb"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def scan_sheet(xml: bytes, wanted: frozenset[str]) -> SheetScan:
    """The elements of the ``wanted`` cells of a sheet part expat found well-formed.

    Requires the shape the expressions rely on: UTF-8, SpreadsheetML (Transitional) bound
    to one prefix at the root and nowhere else, no comments/CDATA/processing instructions
    after the declaration, every cell with a canonical address. Raises :class:`Unproven`.
    """
    decl = _DECL.match(xml)
    enc = _ENCODING.search(decl.group(1)) if decl is not None and decl.group(1) else None
    if decl is None or (enc.group(1) if enc else b"utf-8").lower() not in (b"utf-8", b"utf8"):
        raise Unproven("工作表部件不是 UTF-8 编码")  # the expressions below read UTF-8 bytes
    root = _ROOT.search(xml, 0, 4096)
    if root is None:
        raise Unproven("工作表部件的根元素不是 worksheet")
    prefix = root.group(1) + b":" if root.group(1) else b""
    _check_namespaces(xml, root, prefix)
    start = root.start()
    if xml.find(b"<!", start) != -1 or xml.find(b"<?", start) != -1:
        raise Unproven("工作表含有注释、CDATA 或处理指令")
    any_cell, cell_re, formula_re, value_re, inline_re, any_merge, merge_re, row_re, any_row, col_re = _patterns(prefix)
    n_cells = len(any_cell.findall(xml))
    want = _as_bytes(wanted)
    cells: dict[str, CellXml] = {}
    plain: dict[str, tuple[str, int, str | None, bytes]] = {}
    fast = _FAST_CELL.findall(xml) if not prefix else []
    if fast and len(fast) == n_cells:
        # The shape every common writer uses (<c r="D7" s="3" t="n"><v>5</v></c>): one
        # linear pass; only wanted cells with other content are looked at in full.
        attr_sets = {attrs for _, attrs, _, _ in fast}
        for ref_b, attrs, slash, v in fast:
            if ref_b not in want:
                continue
            ref = ref_b.decode("ascii")
            if ref in cells or ref in plain:
                raise Unproven(f"单元格 {ref} 重复出现")
            if slash or v:
                t, style = _t_and_s(attrs)
                text = None if slash else v.decode("utf-8") if b"&" not in v else unescape(v.decode("utf-8"))
                plain[ref] = (t, int(style) if style else 0, text, attrs)
            else:
                m = cell_re.match(xml, xml.find(b'<c r="' + ref_b + b'"'))
                if m is None:
                    raise Unproven(f"单元格 {ref} 的标记无法识别")
                cells[ref] = _cell(m, prefix, value_re, formula_re, inline_re)
    else:
        found = cell_re.findall(xml)
        if len(found) != n_cells:
            raise Unproven("有单元格缺少地址、地址不规范或标记无法识别")
        attr_sets = {pre + b" " + post for pre, _, _, post, _ in found}
        for pre, r1, r2, post, content in found:
            raw_ref = r1 or r2
            if raw_ref not in want:
                continue
            ref = raw_ref.decode("ascii")
            if ref in cells:
                raise Unproven(f"单元格 {ref} 重复出现")
            cells[ref] = _cell_from(ref, raw_ref, pre, post, content, prefix, value_re, formula_re, inline_re)
    max_style = _max_style(xml, attr_sets, row_re, any_row, col_re)
    merges = merge_re.findall(xml)
    if len(merges) != len(any_merge.findall(xml)):
        raise Unproven("合并区域的标记无法识别")
    ranges = tuple(unescape((a or b).decode("utf-8")) for a, b in merges)
    return SheetScan(cells, _covered(ranges, wanted) if ranges else frozenset(), prefix, max_style, plain)


def _cell(m: re.Match[bytes], prefix: bytes, value_re: re.Pattern[bytes], formula_re: re.Pattern[bytes],
          inline_re: re.Pattern[bytes]) -> CellXml:
    pre, r1, r2, post, content = m.groups()
    raw_ref = r1 or r2
    return _cell_from(raw_ref.decode("ascii"), raw_ref, pre, post, content or b"", prefix, value_re, formula_re,
                      inline_re)


def _cell_from(ref: str, raw_ref: bytes, pre: bytes, post: bytes, content: bytes, prefix: bytes,
               value_re: re.Pattern[bytes], formula_re: re.Pattern[bytes], inline_re: re.Pattern[bytes]) -> CellXml:
    t, style = _t_and_s(pre + b" " + post)
    v = value_re.search(content)
    return CellXml(ref=ref, xml=_cell_xml(prefix, pre, raw_ref, post, content), t=t, s=int(style or b"0"),
                   v=None if v is None else unescape((v.group(1) or b"").decode("utf-8")),
                   formula=formula_re.search(content) is not None, inline=inline_re.search(content) is not None)


@lru_cache(maxsize=512)
def _t_and_s(attrs: bytes) -> tuple[str, bytes]:
    """A cell's type (``t``, default "n") and style index (``s``) from its attributes."""
    t = _T_ATTR.search(attrs)
    st = _S_ATTR.search(attrs)
    style = (st.group(1) if st.group(1) is not None else st.group(2)) if st else b""
    if style and not style.isdigit():
        raise Unproven("有单元格的样式编号无效")
    return ("n" if t is None else unescape((t.group(1) if t.group(1) is not None else t.group(2)).decode("utf-8")),
            style)


_ANY_R = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_ANY_S = re.compile(rb"""\ss\s*=\s*["']([^"']*)["']""")


def _max_style(xml: bytes, cell_attrs: set[bytes], row_re: re.Pattern[bytes], any_row: re.Pattern[bytes],
               col_re: re.Pattern[bytes]) -> int:
    """The largest style index a cell, row or column of the part uses: openpyxl fails on
    one that is not a number or lies beyond the stylesheet (and on a row number that is
    not a number), so the caller compares it."""
    styles = [_t_and_s(a)[1] for a in cell_attrs]
    rows = row_re.findall(xml)
    if len(rows) != len(any_row.findall(xml)):
        raise Unproven("行的标记无法识别")
    joined = b"\x00".join(rows)  # the attributes of every row, searched in one pass each
    numbers = _ANY_R.findall(joined)
    if numbers and not b"".join(numbers).isdigit():
        raise Unproven("行号无效")
    styles += _ANY_S.findall(joined)
    for attrs in set(col_re.findall(xml)):
        m = _STYLE_ATTR.search(attrs)
        if m is not None:
            styles.append(m.group(1) if m.group(1) is not None else m.group(2))
    styles = [x for x in styles if x]
    if styles and not all(x.isdigit() for x in styles):
        raise Unproven("样式编号无效")
    return max(map(int, set(styles)), default=0)


def _cell_xml(prefix: bytes, pre: bytes, ref: bytes, post: bytes, content: bytes) -> bytes:
    """The cell element again (for openpyxl's own parser), with its address double-quoted."""
    return b'<%sc%s r="%s"%s>%s</%sc>' % (prefix, pre, ref, post, content, prefix)


def _check_namespaces(xml: bytes, root: re.Match[bytes], prefix: bytes) -> None:
    """SpreadsheetML must be bound once, at the root, to the root's prefix, and that prefix
    (or the default namespace) bound nowhere else: then every element written with the
    prefix is SpreadsheetML and every SpreadsheetML element is written with it."""
    decls = []
    i = xml.find(b"xmlns")
    while i != -1:
        m = _NS_DECL.match(xml, i)
        if m is not None:
            decls.append((m.group(1) or b"", _attr_value(m)))
        i = xml.find(b"xmlns", i + 5)
    main = [d for d in decls if d[1] == MAIN_NS.encode()]
    same_prefix = [d for d in decls if d[0] == prefix.rstrip(b":")]
    if len(main) != 1 or main[0][0] != prefix.rstrip(b":") or len(same_prefix) != 1 \
            or not _declared_at_root(xml, root):
        raise Unproven("工作表的 SpreadsheetML 命名空间不是过渡格式，或声明方式不常见")


def _attr_value(m: re.Match[bytes]) -> bytes:
    return m.group(2) if m.group(2) is not None else m.group(3)


def _declared_at_root(xml: bytes, root: re.Match[bytes]) -> bool:
    end = xml.find(b">", root.end() - 1)
    return MAIN_NS.encode() in xml[root.start():end]


@lru_cache(maxsize=256)
def _covered(ranges: tuple[str, ...], wanted: frozenset[str]) -> frozenset[str]:
    """Wanted cells inside a merged range other than its top-left cell (cached: files made
    from one template share their merges)."""
    where = {coordinate_to_tuple(ref): ref for ref in wanted}
    out = set()
    for rng in ranges:
        try:
            c1, r1, c2, r2 = range_boundaries(rng)
        except (ValueError, TypeError):
            raise Unproven(f"合并区域“{rng}”无效") from None
        if c1 is None or r1 is None or c2 is None or r2 is None:
            raise Unproven(f"合并区域“{rng}”无效")
        for (row, col), ref in where.items():
            if r1 <= row <= r2 and c1 <= col <= c2 and (row, col) != (r1, c1):
                out.add(ref)
    return frozenset(out)


def to_transitional(data: bytes) -> bytes:
    """One part of a Strict workbook with its namespaces renamed to Transitional ones."""
    for strict, transitional in STRICT_TO_TRANSITIONAL:
        data = data.replace(strict, transitional)
    return data
