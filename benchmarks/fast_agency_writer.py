"""Write filled agency workbooks at ~1,000 a second, for province-sized benchmarks.

openpyxl takes ~30 ms to save one filled template, so 40,000 agencies would take twenty
minutes of a shared machine. This writer asks openpyxl once: it saves the template filled
with one agency's values, then cuts each sheet part at the cells a form reads (data cells
and header fields) and, for every agency, puts new cell elements into those slots. The
parts nothing changes in (styles, theme, the live checks' hidden sheet, ...) are compressed
once and copied as they are. The files are what openpyxl would write (the test
``tests/test_make_agencies.py`` reads both kinds and compares), except that text cells
are inline strings.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook

from gkreport.core.forms import Form
from gkreport.readers.ooxml import sheet_parts

CellInput = int | float | str | None
_DOS_TIME, _DOS_DATE = 0, (2026 - 1980) << 9 | 1 << 5 | 1  # 2026-01-01 00:00, the same in every file


@dataclass(frozen=True)
class _Member:
    name: str
    crc: int
    size: int
    deflated: bytes


@dataclass(frozen=True)
class _Slots:
    """A sheet part cut at the cells written: pieces[0] + cell(refs[0]) + pieces[1] + ..."""

    pieces: tuple[bytes, ...]
    refs: tuple[str, ...]
    styles: tuple[bytes, ...]


class FastAgencyWriter:
    """Fills copies of one saved template workbook by editing its sheet XML."""

    def __init__(self, form: Form, filled: Workbook) -> None:
        buf = io.BytesIO()
        filled.save(buf)
        self.form = form
        self.where: dict[str, tuple[str, str]] = {cid: (c.sheet, c.ref) for cid, c in form.cells.items()}
        self.where.update({h.id: (h.sheet, h.cell) for h in form.header if h.fixed is None})
        wanted: dict[str, set[str]] = {}
        for sheet, ref in self.where.values():
            wanted.setdefault(sheet, set()).add(ref)
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
            parts = sheet_parts(zf)
            self.slots = {parts[s]: _cut(zf.read(parts[s]), refs) for s, refs in wanted.items()}
            self.part_of = {s: parts[s] for s in wanted}
            self.order = [i.filename for i in zf.infolist()]
            self.fixed = {i.filename: _deflate(i.filename, zf.read(i)) for i in zf.infolist()
                          if i.filename not in self.slots}

    def write(self, path: Path, values: Mapping[str, CellInput], header: Mapping[str, CellInput]) -> None:
        cells: dict[str, dict[str, CellInput]] = {}
        for key, value in [*values.items(), *header.items()]:
            if key in self.where:
                sheet, ref = self.where[key]
                cells.setdefault(self.part_of[sheet], {})[ref] = value
        members = []
        for name in self.order:
            slots = self.slots.get(name)
            if slots is None:
                members.append(self.fixed[name])
                continue
            got = cells.get(name, {})
            out = [slots.pieces[0]]
            for ref, style, piece in zip(slots.refs, slots.styles, slots.pieces[1:], strict=True):
                out.append(_cell(ref, style, got.get(ref)))
                out.append(piece)
            members.append(_deflate(name, b"".join(out)))
        Path(path).write_bytes(_zip(members))


_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(rb'\ss="([0-9]+)"')


def _cut(xml: bytes, refs: set[str]) -> _Slots:
    pieces, found, styles = [], [], []
    last = 0
    for m in _CELL.finditer(xml):
        ref = m.group(1).decode("ascii")
        if ref not in refs:
            continue
        pieces.append(xml[last:m.start()])
        found.append(ref)
        style = _STYLE.search(m.group(2))
        styles.append(style.group(1) if style else b"0")
        last = m.end()
    pieces.append(xml[last:])
    missing = refs - set(found)
    if missing:
        raise ValueError(f"template sheet lacks cells {sorted(missing)[:5]}")
    return _Slots(tuple(pieces), tuple(found), tuple(styles))


def _cell(ref: str, style: bytes, value: CellInput) -> bytes:
    r = ref.encode("ascii")
    if value is None:
        return b'<c r="%s" s="%s" t="n"></c>' % (r, style)
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = escape(str(value)).encode("utf-8")
        return b'<c r="%s" s="%s" t="inlineStr"><is><t>%s</t></is></c>' % (r, style, text)
    return b'<c r="%s" s="%s" t="n"><v>%s</v></c>' % (r, style, repr(value).encode("ascii"))


def _deflate(name: str, data: bytes) -> _Member:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return _Member(name, zlib.crc32(data), len(data), c.compress(data) + c.flush())


def _zip(members: list[_Member]) -> bytes:
    """A plain zip (deflated members, no extras), as zipfile writes it."""
    out, central = [], []
    offset = 0
    for m in members:
        name = m.name.encode("utf-8")
        head = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, _DOS_TIME, _DOS_DATE, m.crc,
                           len(m.deflated), m.size, len(name), 0)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, _DOS_TIME, _DOS_DATE, m.crc,
                                   len(m.deflated), m.size, len(name), 0, 0, 0, 0, 0o644 << 16, offset) + name)
        out += [head, name, m.deflated]
        offset += len(head) + len(name) + len(m.deflated)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(out) + directory + end
