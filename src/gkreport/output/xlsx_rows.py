"""Append many plain rows to sheets of a workbook while saving it (fast bulk output).

openpyxl builds a Python object per cell and serialises each through lxml: about
8 µs a cell, so the 200,000-cell 明细 sheet of a 1,000-agency summary took two
seconds, longer than reading the thousand files. Plain data rows need none of that
machinery: this module lets openpyxl write the workbook (styles, merged header rows,
freeze panes, filters) and then splices the data rows into the saved sheet part as
SpreadsheetML, which is what openpyxl itself would have written for unstyled cells.

Why it is safe:

- strings are written as inline strings (``t="inlineStr"``), XML-escaped and with
  the characters XML cannot hold removed, so text is never a formula,
  whatever it starts with (no formula injection);
- numbers Excel cannot hold (inf, nan, > 9.99e307) are written as text, as
  :func:`gkreport.output.safety.set_value` does;
- the sheet must have no rows at or below the first appended row (checked), so row
  order in the part stays ascending as the format requires;
- the result is written to a temporary file and renamed, like every output.
"""

from __future__ import annotations

import contextlib
import math
import re
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from gkreport.readers.ooxml import sheet_parts

from .background_save import BackgroundSave, save_plain, start_save
from .outputs import atomic_write, temp_dir
from .safety import EXCEL_MAX, xml_safe

_ROW_TAG = re.compile(rb'<row [^>]*\br="(\d+)"')
_INT_SAFE = 10**15  # ints below this are exact in Excel's doubles and need no check
_DIMENSION = re.compile(rb'<dimension ref="([^"]*)"\s*/>')


@dataclass
class BulkRows:
    """Rows to append to one sheet, starting at ``first_row`` (1-based), column A onwards.

    ``rows`` may be a generator: it is consumed once, while the part is written.
    ``None`` leaves a cell empty.
    """

    first_row: int
    rows: Iterable[Sequence[Any]]
    n_rows: int  # how many ``rows`` yields (checked), for the sheet's <dimension>
    n_cols: int  # widest row
    # Optional cell-format (xf) index per column, e.g. wrapped text (see summary_workbook._xf), or a
    # function giving them for a row (a row coloured by its status).
    styles: Sequence[int | None] | Callable[[Sequence[Any]], Sequence[int | None]] = ()
    # Optional row height in points for a row (None: the default), so wrapped text shows whole.
    height: Callable[[Sequence[Any]], float | None] | None = None


def save_with_rows(wb: Workbook, path: Path, bulk: Mapping[str, BulkRows], *, background: bool = True,
                   split: bool = True) -> Path:
    """Save ``wb`` at ``path`` atomically with ``bulk`` rows appended to the named sheets.

    ``background``: use a second process where it is safe (Linux, see
    :mod:`gkreport.output.background_save`): with ``split``, a child generates and compresses
    the largest sheet's rows while this process does the rest (:mod:`gkreport.output.xlsx_split`);
    otherwise (or for a province-sized sheet) a child saves the workbook while this process
    generates the first rows. ``split`` False keeps every row in this process. Whichever way,
    the file written is the same, and a child that fails costs nothing but the time: its work
    is done here."""
    path = Path(path)
    for title in bulk:
        wb[title]  # KeyError now, before anything is written, for a sheet that does not exist
    with temp_dir(path) as tmp:
        if background and split:
            from .xlsx_split import save_split

            if save_split(wb, path, bulk, tmp):
                return path
        chunks = {title: _Chunks(b) for title, b in bulk.items()}
        plain = tmp / "plain.xlsx"
        saver = start_save(wb, plain) if background and bulk else None
        if saver is not None:
            try:
                _generate_ahead([chunks[t] for t in wb.sheetnames if t in chunks], saver)
            except BaseException:  # no child left behind on any way out (Ctrl+C too); re-raised
                saver.cancel()
                raise
        if saver is None or not saver.wait():
            save_plain(wb, plain)
        atomic_write(path, lambda done: _splice(plain, done, chunks))
    return path


AHEAD_LIMIT = 64 * 2**20  # bytes of row XML generated ahead while the child saves (memory stays bounded)


def _generate_ahead(sheets: Sequence[_Chunks], saver: BackgroundSave) -> None:
    """Generate rows, in the order they are written, until the child has saved the workbook:
    nothing is wasted (every row is written), the rest is generated as it is written."""
    size = 0
    for c in sheets:
        while size < AHEAD_LIMIT and not saver.done():
            n = c.step()
            if n is None:
                break
            size += n
        if size >= AHEAD_LIMIT or saver.done():
            return


class _Chunks:
    """A sheet's bulk rows as chunks of UTF-8 XML: those generated ahead, then the rest on demand."""

    def __init__(self, b: BulkRows) -> None:
        self.b = b
        self._ahead: deque[bytes] = deque()
        self._rest = row_chunks(b)

    def step(self) -> int | None:
        """Generate one chunk ahead; its size, or None when all rows are generated."""
        chunk = next(self._rest, None)
        if chunk is None:
            return None
        self._ahead.append(chunk)
        return len(chunk)

    def drain(self) -> Iterator[bytes]:
        """Every chunk, in order, each released once written."""
        while self._ahead:
            yield self._ahead.popleft()
        yield from self._rest


def _splice(src: Path, dst: Path, bulk: Mapping[str, _Chunks]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        parts = sheet_parts(zin)
        by_part = {parts[title]: c for title, c in bulk.items()}
        for info in zin.infolist():
            data = zin.read(info.filename)
            out_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out_info.compress_type = zipfile.ZIP_DEFLATED
            out_info.external_attr = info.external_attr
            c = by_part.get(info.filename)
            if c is None:
                zout.writestr(out_info, data)
                continue
            # Streamed: memory stays flat however many rows (10,000 agencies × 200 cells).
            with zout.open(out_info, "w", force_zip64=True) as fh:
                _write_with_rows(fh, data, c)


def _write_with_rows(fh: IO[bytes], xml: bytes, c: _Chunks) -> None:
    head, tail = head_and_tail(xml, c.b)
    fh.write(head)
    for chunk in c.drain():
        fh.write(chunk)
    fh.write(tail)


def head_and_tail(xml: bytes, b: BulkRows) -> tuple[bytes, bytes]:
    """The saved sheet part ``xml`` cut where ``b``'s rows go, its <dimension> widened to them."""
    existing = [int(m) for m in _ROW_TAG.findall(xml)]
    if existing and max(existing) >= b.first_row:
        # Any cell object openpyxl holds (even an empty one, e.g. from ws.cell()) or row
        # format at or below first_row became a <row> the appended ones would have to follow.
        raise ValueError(f"sheet already has rows at or below row {b.first_row} (row {max(existing)})")
    if b"<sheetData/>" in xml:
        head, _, tail = xml.partition(b"<sheetData/>")
        head, tail = head + b"<sheetData>", b"</sheetData>" + tail
    else:
        head, sep, tail = xml.rpartition(b"</sheetData>")
        if not sep:
            raise ValueError("sheet part has no <sheetData>")
        tail = sep + tail
    last_row = max([*existing, b.first_row + b.n_rows - 1, 1])
    n_cols = b.n_cols
    m = _DIMENSION.search(head)
    if m:
        with contextlib.suppress(ValueError):  # an odd ref openpyxl wrote: ours is used
            n_cols = max(n_cols, range_boundaries(m.group(1).decode())[2] or 0)
    dim = f'<dimension ref="A1:{get_column_letter(max(n_cols, 1))}{last_row}"/>'.encode()
    return _DIMENSION.sub(dim, head, count=1), tail


def row_chunks(b: BulkRows) -> Iterator[bytes]:
    """``b``'s rows as SpreadsheetML, 500 rows a chunk; checks their number at the end."""
    letters = [get_column_letter(i) for i in range(1, b.n_cols + 1)]
    openings = [f'<c r="{letter}' for letter in letters]
    pieces: list[str] = []
    written = 0
    attrs: dict[tuple[int | None, ...], list[str]] = {}

    def attributes(ids: Sequence[int | None]) -> list[str]:
        key = tuple(ids)
        if key not in attrs:
            attrs[key] = [f' s="{s}"' if s is not None else "" for s in key]
        return attrs[key]

    styles = attributes(b.styles) if not callable(b.styles) else []
    for r, row in enumerate(b.rows, start=b.first_row):
        if callable(b.styles):
            styles = attributes(b.styles(row))
        if styles:  # a styled column's cells carry s="n", empty ones too (a row's fill has no gaps)
            cells = [_cell(f"{letter}{r}", v, attr) if v is not None and v != ""
                     else (f'<c r="{letter}{r}"{attr}/>' if attr else "")
                     for letter, v, attr in zip(letters, row, styles, strict=False)]
        else:  # plain ints (most of the cells) inline, tested first; everything else through _cell
            mid = f'{r}"><v>'
            cells = [f"{opening}{mid}{v}</v></c>" if type(v) is int and -_INT_SAFE < v < _INT_SAFE
                     else "" if v is None or v == "" else _cell(f"{letter}{r}", v)
                     for opening, letter, v in zip(openings, letters, row, strict=False)]
        h = b.height(row) if b.height is not None else None
        ht = f' ht="{h:g}" customHeight="1"' if h else ""
        pieces.append(f'<row r="{r}"{ht}>{"".join(cells)}</row>')
        written += 1
        if len(pieces) >= 500:
            yield "".join(pieces).encode("utf-8")
            pieces.clear()
    if pieces:
        yield "".join(pieces).encode("utf-8")
    if written != b.n_rows:
        raise ValueError(f"expected {b.n_rows} rows, got {written}")


def _cell(ref: str, v: Any, attr: str = "") -> str:
    if isinstance(v, bool):
        v = "是" if v else "否"
    if isinstance(v, int):
        if abs(v) <= EXCEL_MAX:
            return f'<c r="{ref}"{attr}><v>{v}</v></c>'
        v = str(v)
    elif isinstance(v, float):
        if math.isfinite(v) and abs(v) <= EXCEL_MAX:
            return f'<c r="{ref}"{attr}><v>{v!r}</v></c>'
        v = repr(v)
    text = _escape(xml_safe(str(v)))
    if not text:
        return ""  # nothing XML can hold: the cell stays empty, as None would
    return f'<c r="{ref}"{attr} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _escape(text: str) -> str:
    """XML-escaped text, a CR as ``&#13;`` (a raw CR would read back as LF): what
    ``xml.sax.saxutils.escape(text, {"\\r": "&#13;"})`` gives, without importing saxutils and,
    through it, urllib.request (~20-60 ms of the parent's time after the reading)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("\r", "&#13;")
