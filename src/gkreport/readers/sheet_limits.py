"""The work one workbook may ask of a reader, checked before it is read: sheets, part sizes,
cells, used ranges, absurd numbers (:func:`gkreport.readers.files.sniff` checks them on the way
in; the fast reader on the parts it has inflated, :func:`check_sheet_limits`).

Hard limits, so that no input under a few MB costs more than ~300 MB of memory or ~30 s
(openpyxl keeps ~200 bytes per cell; python-calamine a dense grid per sheet). An official
report has 4 sheets of < 2,000 cells.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .files import ZIP_ERRORS, ReadError, zip_damage

MAX_SHEETS = 100
MAX_CELLS = 300_000  # cells with content, all sheets together
MAX_AREA = 4_000_000  # rows x columns of one sheet's used range (the reader's grid)
MAX_SHEET_BYTES = 64 * 1024 * 1024  # one worksheet part, inflated
MAX_SHARED_STRINGS_BYTES = 32 * 1024 * 1024
MAX_NUMBER_DIGITS = 300  # beyond any double; Python refuses int() of > 4300 digits
_MAX_CARRY = 4 * 1024 * 1024  # bytes between two '>' in a part: no real tag or text is longer

_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\s")
_PREFIXED_CELL = re.compile(rb"<\w+:c[\s/>]")
# Patterns that start with a literal are searched for by prefix (fast); a leading \s is not.
_ROW_NUMBER = re.compile(rb'r="([0-9]{1,9})"')  # <row r="12">: only rows have an all-digit r
_COL_LETTERS = re.compile(rb'r="([A-Z]{1,3})[0-9]')  # <c r="AB12">
_LONG_NUMBER = re.compile(rb"v>\s*[-+]?[0-9.]{%d}" % (MAX_NUMBER_DIGITS + 1))
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3}[0-9]{1,7})"')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


@dataclass
class SheetScan:
    """What one worksheet part asks of a reader: cells, the used range, absurd numbers.
    Fed in chunks (cut after a '>' so no tag is split), or once with the whole part."""

    title: str
    cells: int = 0
    max_row: int = 0
    max_col: int = 0
    _carry: bytes = field(default=b"", repr=False)

    def feed(self, chunk: bytes, final: bool = False) -> None:
        buf = self._carry + chunk
        cut = len(buf) if final else buf.rfind(b">") + 1
        data, self._carry = buf[:cut], buf[cut:]
        if len(self._carry) > _MAX_CARRY:
            raise ReadError(f"工作表“{self.title}”的内容异常（超长的无标记数据），已拒绝读取")
        self.cells += data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/>")
        if b":c" in data:  # a prefixed namespace (<x:c r="A1">), as some generators write
            self.cells += len(_PREFIXED_CELL.findall(data))
        rows = _ROW_NUMBER.findall(data)
        if rows:
            self.max_row = max(self.max_row, max(map(int, rows)))
        cols = set(_COL_LETTERS.findall(data))
        if cols:
            self.max_col = max(self.max_col, _column_number(max(cols, key=lambda c: (len(c), c))))
        if self.cells > MAX_CELLS:
            raise ReadError(f"工作表“{self.title}”的单元格过多（超过 {MAX_CELLS} 个），超出年度报告表格的正常范围，已拒绝读取")
        m = _LONG_NUMBER.search(data)
        if m:
            tag = max(data.rfind(b"<c ", 0, m.start()), data.rfind(b":c ", 0, m.start()))
            ref = _CELL_REF.search(data, max(0, tag), m.start())
            where = f"单元格 {ref.group(1).decode()} " if ref else ""
            raise ReadError(f"工作表“{self.title}”{where}的数字超过 {MAX_NUMBER_DIGITS} 位，"
                            "不可能是件数或金额，已拒绝读取（请改正该单元格后另存）")
        if self.max_row * max(self.max_col, 1) > MAX_AREA:
            raise ReadError(f"工作表“{self.title}”的数据区域过大（{self.max_row} 行 × {self.max_col} 列），"
                            "超出年度报告表格的正常范围，已拒绝读取（请删除多余的行列后另存）")


def check_sheet_limits(sheets: Iterable[tuple[str, bytes]]) -> None:
    """The cell limits of :func:`sniff`'s verifying pass (cells, used range, digits) over
    worksheet parts already in memory (the fast reader has inflated them all): both readers
    refuse the same files."""
    sheets = list(sheets)
    bounds = [_cells_bound(data) for _, data in sheets]
    if None not in bounds and sum(b or 0 for b in bounds) <= MAX_CELLS:
        return  # no limit can be reached: the exact count below would raise nothing
    cells = 0
    for title, data in sheets:
        cells += _sheet_cells(title, data)
        if cells > MAX_CELLS:
            raise ReadError(f"工作簿中的单元格过多（超过 {MAX_CELLS} 个），超出年度报告表格的正常范围，已拒绝读取")


# A row number of 4 digits or more, or a column of 3 letters (see _ROW_NUMBER, _COL_LETTERS).
_BIG_REF = re.compile(rb'r="(?:[0-9]{4}|[A-Z]{3}[0-9])')
_SMALL_RANGE = 999 * 702  # the largest used range without them: rows 1..999, columns A..ZZ


def _cells_bound(data: bytes) -> int | None:
    """An upper bound of the cells :class:`SheetScan` counts in a whole part, when it can show
    cheaply (three fast passes instead of seven) that the part reaches no limit; else None.

    Every counted cell starts at its own "<", so their number is at most the count of "<";
    without a row number of 4 digits (max_row <= 999) nor a column of 3 letters (max_col <= 702,
    ZZ) the used range is at most 701,298 <= MAX_AREA; and the long-number search is the same.
    """
    hit = _BOUNDS.get(id(data))
    if hit is not None and hit[0] is data:
        _BOUNDS.move_to_end(id(data))
        return hit[1]
    n = data.count(b"<")
    surely_within = _SMALL_RANGE <= MAX_AREA and _BIG_REF.search(data) is None and _LONG_NUMBER.search(data) is None
    bound = n if surely_within else None  # the caller compares the bounds' sum with MAX_CELLS
    if len(data) <= _MAX_REMEMBERED:  # a shared part is small; a huge one is not kept alive
        _BOUNDS[id(data)] = (data, bound)
        while len(_BOUNDS) > 16:
            _BOUNDS.popitem(last=False)
    return bound


_MAX_REMEMBERED = 4 * 1024 * 1024  # _BOUNDS: id of the part -> (the part, its bound), as _SCANNED
_BOUNDS: OrderedDict[int, tuple[bytes, int | None]] = OrderedDict()


# (id of the part, title) -> verdict, the most recently used last: a part every file shares is
# used by each file and stays; the parts of one file only are dropped as new ones come.
_SCANNED: OrderedDict[tuple[int, str], tuple[bytes, int | ReadError]] = OrderedDict()


def _sheet_cells(title: str, data: bytes) -> int:
    """One sheet's cells, or its ReadError; remembered for the very same bytes object (the
    fast reader hands the same object for a member shared byte for byte by many files, see
    :mod:`gkreport.readers.ooxml_members`): the verdict is that of these bytes, so it is exact."""
    key = (id(data), title)
    hit = _SCANNED.get(key)
    if hit is None or hit[0] is not data:
        scan = SheetScan(title)
        try:
            scan.feed(data, final=True)
            verdict: int | ReadError = scan.cells
        except ReadError as e:
            verdict = e
        hit = _SCANNED[key] = (data, verdict)
        while len(_SCANNED) > 64:
            _SCANNED.popitem(last=False)
    _SCANNED.move_to_end(key)
    if isinstance(hit[1], ReadError):
        raise ReadError(str(hit[1]))
    return hit[1]


def check_cell_limits(zf: zipfile.ZipFile) -> None:
    """The limits :func:`sniff` checks only when verifying (cells, used ranges, digits of
    every worksheet): for a file the fast path sniffed without verifying and then left to
    the full reader, whose python-calamine holds a sheet's used range densely. A member that
    does not inflate is the damage :func:`sniff` would have reported, said the same way."""
    try:
        check_workbook_limits(zf, True)
    except ZIP_ERRORS as e:
        raise zip_damage(e) from None


def check_workbook_limits(zf: zipfile.ZipFile, verify: bool) -> None:
    """Sheets, part sizes and, when ``verify`` (every member is read to check its CRC
    anyway), cells, used ranges and numbers of every worksheet, in the same pass."""
    from .ooxml import sheet_parts, sheet_parts_of
    from .ooxml_members import read_member

    try:
        # Not verifying: the fast reader reads every member next, through read_member, which
        # then finds these two already inflated (and checked: same size and CRC as zf.read).
        wb = zf.read("xl/workbook.xml") if verify else read_member(zf, zf.getinfo("xl/workbook.xml"))
    except KeyError:
        wb = b""
    sheets = len(_SHEET_TAG.findall(wb))
    if sheets > MAX_SHEETS:
        raise ReadError(f"工作簿中的工作表过多（{sheets} 个），不像是年度报告统计表，已拒绝读取")
    if verify or not wb:
        parts = sheet_parts(zf)
    else:
        try:
            end = wb.find(b"</sheets>")  # the sheets listed, as sheet_parts reads them
            head = wb if end < 0 else wb[:end + 9]
            parts = sheet_parts_of(head, read_member(zf, zf.getinfo("xl/_rels/workbook.xml.rels")))
        except KeyError:
            parts = {}
    titles = {part: title for title, part in parts.items()}
    cells = 0
    for info in zf.infolist():
        name = info.filename
        is_sheet = name in titles or (name.startswith("xl/worksheets/") and name.endswith(".xml"))
        if is_sheet and info.file_size > MAX_SHEET_BYTES:
            raise ReadError(f"工作表“{titles.get(name, name)}”过大（解压后 {info.file_size // 1024 // 1024} MB），已拒绝读取")
        if name == "xl/sharedStrings.xml" and info.file_size > MAX_SHARED_STRINGS_BYTES:
            raise ReadError(f"工作簿中的文字内容过多（解压后 {info.file_size // 1024 // 1024} MB），已拒绝读取")
        if not verify:
            continue
        scan = SheetScan(titles.get(name, name)) if is_sheet else None
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    if scan is not None:
                        scan.feed(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError):  # a bad CRC, a stream that does not inflate
            raise ReadError(f"文件已损坏（{name} 校验失败），请重新保存或重新获取") from None
        if scan is not None:
            scan.feed(b"", final=True)
            cells += scan.cells
            if cells > MAX_CELLS:
                raise ReadError(f"工作簿中的单元格过多（超过 {MAX_CELLS} 个），超出年度报告表格的正常范围，已拒绝读取")
