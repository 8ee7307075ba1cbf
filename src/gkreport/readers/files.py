"""Looking at a file before trusting it: what it really is, and whether it is safe to open.

Every reader calls :func:`sniff` first, so a renamed CSV, a legacy ``.xls``, an
encrypted workbook, a truncated download, an Office lock file or a zip bomb gets a
clear Chinese message instead of a library traceback.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# What zipfile raises on a damaged or foreign archive (RuntimeError: an encrypted member;
# NotImplementedError: an unsupported compression method).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError)

# Every input format a report can come in, by extension: the one list the readers dispatch on
# (gkreport.readers.published.SUPPORTED) and the folders are searched for (gkreport.readers.inputs).
INPUT_SUFFIXES = (".txt", ".tsv", ".docx", ".html", ".htm", ".xlsx", ".xlsm")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_INFLATED_BYTES = 300 * 1024 * 1024  # what a workbook may expand to in memory
MAX_RATIO = 200  # compression ratio beyond which a member is treated as a bomb
# Hard limits on the work one workbook may ask for, so that no input under a few MB
# costs more than ~300 MB of memory or ~30 s (openpyxl keeps ~200 bytes per cell;
# python-calamine a dense grid per sheet). An official report has 4 sheets of < 2,000 cells.
MAX_PARTS = 1000  # zip members
MAX_SHEETS = 100
MAX_CELLS = 300_000  # cells with content, all sheets together
MAX_AREA = 4_000_000  # rows x columns of one sheet's used range (the reader's grid)
MAX_SHEET_BYTES = 64 * 1024 * 1024  # one worksheet part, inflated
MAX_SHARED_STRINGS_BYTES = 32 * 1024 * 1024
MAX_NUMBER_DIGITS = 300  # beyond any double; Python refuses int() of > 4300 digits
_MAX_CARRY = 4 * 1024 * 1024  # bytes between two '>' in a part: no real tag or text is longer


class ReadError(Exception):
    """A file cannot be used; the message says why in Chinese (exit code 2)."""


class NotATemplate(ReadError):
    """A workbook that is not laid out as our template (other readers may still read it)."""


@dataclass(frozen=True)
class Sniffed:
    kind: str  # xlsx | xls | docx | text | html
    path: Path
    archive: zipfile.ZipFile | None = None  # kept open on request (``keep_open``): the caller closes it

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def is_lock_file(path: Path) -> bool:
    """Office's ``~$name.xlsx`` owner files appear while a workbook is open."""
    return path.name.startswith("~$")


def sniff(path: Path, *, verify: bool = True, keep_open: bool = False) -> Sniffed:
    """What ``path`` really is, or a ReadError saying in Chinese why it cannot be used.

    ``verify`` checks the CRC of every zip member, so a damaged file is reported as
    damaged rather than read with a changed digit (python-calamine stops reading a part
    at its last row and never sees the CRC). The consolidation reader passes False
    and checks only the parts that hold cell data itself (see ``readers.workbook``).
    ``keep_open`` leaves a zip archive open in ``Sniffed.archive`` so that reader does
    not parse the central directory a second time (call ``Sniffed.close``).
    """
    path = Path(path)
    if is_lock_file(path):
        raise ReadError("这是 Excel 打开文件时生成的临时锁文件（~$ 开头），不是报表，已跳过")
    if not path.exists():
        raise ReadError("文件不存在")
    if path.is_dir():
        raise ReadError("这是文件夹，不是文件")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise ReadError("这不是普通文件（管道、设备等），无法作为报表读取")
    size = path.stat().st_size
    if size == 0:
        raise ReadError("文件是空的（0 字节）")
    if size > MAX_FILE_BYTES:
        raise ReadError(f"文件过大（{size // 1024 // 1024} MB），不像是年度报告统计表")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE_MAGIC):
        return Sniffed(_ole_kind(path), path)
    if head.startswith(ZIP_MAGIC):
        kind, archive = _zip_kind(path, verify, keep_open)
        return Sniffed(kind, path, archive)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        sample = path.read_bytes()[:2048]
        if _looks_like_text(sample):
            raise ReadError("扩展名是 Excel，但内容是文本（可能是改了扩展名的 CSV 文件），请在 Excel 中打开后另存为 .xlsx")
        raise ReadError("文件已损坏或不是 Excel 工作簿，无法打开")
    if path.suffix.lower() in (".html", ".htm"):
        return Sniffed("html", path)
    return Sniffed("text", path)


def decode_text(data: bytes) -> str | None:
    """Text of a Chinese document: UTF-8 (with or without BOM), else GB18030; None if neither."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


def _looks_like_text(sample: bytes) -> bool:
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
            return b"\x00" not in sample
        except UnicodeDecodeError:
            continue
    return False


def _ole_kind(path: Path) -> str:
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
                raise ReadError("文件设置了打开密码（已加密），请在 Excel 中去掉密码后另存，再试")
            if ole.exists("Workbook") or ole.exists("Book"):
                raise ReadError("这是旧版 Excel 97-2003 格式（.xls），请在 Excel 或 WPS 中另存为 .xlsx 后再试")
            if ole.exists("WordDocument"):
                raise ReadError("这是旧版 Word 97-2003 格式（.doc），请另存为 .docx 后再试")
    except ReadError:
        raise
    except Exception as e:  # per-file boundary: olefile raises OSError, struct.error, IndexError... on damaged headers
        raise ReadError(f"文件已损坏，无法读取（{type(e).__name__}）") from None
    if path.suffix.lower() in (".et", ".ett"):
        raise ReadError(f"这是 WPS 表格格式（{path.suffix}），{_SAVE_AS_XLSX}")
    raise ReadError("无法识别的 Office 旧格式文件")


_SAVE_AS_XLSX = "请在 Excel 或 WPS 中打开后另存为 .xlsx（Excel 工作簿），再试"
_ODF_FORMATS = {
    b"application/vnd.oasis.opendocument.spreadsheet": f"这是 OpenDocument 表格（.ods），{_SAVE_AS_XLSX}",
    b"application/vnd.oasis.opendocument.text": "这是 OpenDocument 文档（.odt），请另存为 Word（.docx）后再试",
}


def _other_zip_format(zf: zipfile.ZipFile, names: set[str]) -> str:
    """What a zip that is neither an .xlsx nor a .docx is, in words that tell the clerk what to do."""
    if "xl/workbook.bin" in names:
        return f"这是 Excel 二进制工作簿（.xlsb），{_SAVE_AS_XLSX}"
    if "mimetype" in names and zf.getinfo("mimetype").file_size < 200:
        known = _ODF_FORMATS.get(zf.read("mimetype").strip())
        if known:
            return known
    if any(n.startswith("Index/") for n in names):
        return "这是 Apple Numbers 表格，请导出为 Excel（.xlsx）后再试"
    return "压缩文件不是 Excel 工作簿（缺少 xl/workbook.xml）"


def _zip_kind(path: Path, verify: bool = True, keep_open: bool = False) -> tuple[str, zipfile.ZipFile | None]:
    zf: zipfile.ZipFile | None = None
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
        names = {i.filename for i in infos}
        if len(infos) > MAX_PARTS:
            raise ReadError(f"文件内部部件过多（{len(infos)} 个），不像是年度报告统计表，已拒绝读取")
        total = 0
        for info in infos:
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 10 ** 7:
                raise ReadError("文件内容异常（解压后体积异常巨大，疑似“压缩炸弹”），已拒绝读取")
            if info.flag_bits & 0x1:
                raise ReadError("文件设置了密码（压缩包已加密），请去掉密码后另存，再试")
        if total > MAX_INFLATED_BYTES:
            raise ReadError("文件解压后过大，已拒绝读取")
        if "xl/workbook.xml" in names:
            _check_workbook_limits(zf, verify)  # also checks every CRC when verify
        elif verify and (bad := zf.testzip()) is not None:
            raise ReadError(f"文件已损坏（{bad} 校验失败），请重新保存或重新获取")
        if "xl/workbook.xml" in names:
            kind = "xlsx"
        elif "word/document.xml" in names:
            kind = "docx"
        else:
            raise ReadError(_other_zip_format(zf, names))
    except BaseException as e:  # close on every way out, then say what it was; the rest is re-raised
        if zf is not None:
            zf.close()
        if isinstance(e, NotImplementedError):
            raise ReadError("文件使用了不支持的压缩方式，请在 Excel 中重新保存后再试") from None
        if isinstance(e, ZIP_ERRORS):
            raise ReadError("文件已损坏或不完整（可能下载/复制中断），无法打开") from None
        raise
    if keep_open:
        return kind, zf
    zf.close()
    return kind, None


# ---------------------------------------------------------------------------- workbook limits

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
        _check_workbook_limits(zf, True)
    except NotImplementedError:
        raise ReadError("文件使用了不支持的压缩方式，请在 Excel 中重新保存后再试") from None
    except ReadError:
        raise
    except ZIP_ERRORS:
        raise ReadError("文件已损坏或不完整（可能下载/复制中断），无法打开") from None


def _check_workbook_limits(zf: zipfile.ZipFile, verify: bool) -> None:
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
