"""A few facts about an .xlsx package read straight from its zip parts, without a full parse.

Used where a full parse would cost more than the whole job: the consolidation reader
(1000s of files) needs to know which sheet part holds which sheet and which cells hold
formulas (python-calamine returns only cached values); the bulk-row writer needs the
part of the sheet it appends to. Regular expressions suffice because the parts are
machine-written SpreadsheetML; anything unexpected yields "unknown", never a guess.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from html import unescape

_TAG = {
    "sheet": re.compile(rb"<(?:\w+:)?sheet\s[^>]*>"),
    "rel": re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>"),
}
_ATTR_NAME = re.compile(rb'\sname="([^"]*)"')
_ATTR_RID = re.compile(rb'\s\w+:id="([^"]*)"')  # r:id (any prefix); not sheetId
_ATTR_ID = re.compile(rb'\sId="([^"]*)"')
_ATTR_TARGET = re.compile(rb'\sTarget="([^"]*)"')
# A formula element, then the cell tag it must directly follow: <c r="D5" s="3"><f>SUM(..)</f>.
# Searching for the (few) formulas first and looking back is ~10x faster than matching every cell.
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_TAG = re.compile(rb'<(?:\w+:)?c\s[^<>]*?\br="([A-Z]{1,3}[0-9]{1,7})"[^<>]*(?<!/)>\s*')


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip member of its part (``xl/worksheets/sheet1.xml``); {} if unknown."""
    try:
        wb = _head(zf, "xl/workbook.xml", b"</sheets>")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets: dict[bytes, bytes] = {}
    for tag in _TAG["rel"].findall(rels):
        rid, target = _ATTR_ID.search(tag), _ATTR_TARGET.search(tag)
        if rid and target:
            targets[rid.group(1)] = target.group(1)
    out: dict[str, str] = {}
    for tag in _TAG["sheet"].findall(wb):
        name, rid = _ATTR_NAME.search(tag), _ATTR_RID.search(tag)
        if not (name and rid) or rid.group(1) not in targets:
            continue
        target = unescape(targets[rid.group(1)].decode("utf-8"))
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        out[unescape(name.group(1).decode("utf-8"))] = part
    return out


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


def formula_refs(xml: bytes) -> set[str]:
    """Addresses of the cells of a sheet part that hold a formula."""
    out: set[str] = set()
    # Unprefixed SpreadsheetML (the usual) by a plain byte search, the fastest; prefixed
    # elements (<x:c>, <x:f>, as some SDKs write them) by the regular expression.
    starts = _plain_formula_starts(xml) if b"<c " in xml else [m.start() for m in _FORMULA.finditer(xml)]
    for start in starts:
        cell = _CELL_TAG.match(xml, xml.rfind(b"<", 0, start), start)
        if cell and cell.end() == start:
            out.add(cell.group(1).decode("ascii"))
    return out


def _plain_formula_starts(xml: bytes) -> list[int]:
    found = []
    i = xml.find(b"<f")
    while i != -1:
        if xml[i + 2:i + 3] in (b">", b" ", b"/", b"\t", b"\r", b"\n"):  # <f>, <f t=..>; not <formula1>
            found.append(i)
        i = xml.find(b"<f", i + 2)
    return found
