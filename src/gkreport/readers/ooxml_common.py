"""What every reader of OOXML parts shares: namespaces, XML references, the two failures.

Split from :mod:`gkreport.readers.ooxml` (which re-exports all of it) so that the sheet scanner
(:mod:`gkreport.readers.ooxml_sheet`) and the package inspector can both use it.
"""

from __future__ import annotations

import re

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
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

