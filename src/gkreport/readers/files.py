"""Looking at a file before trusting it: what it really is, and whether it is safe to open.

Every reader calls :func:`sniff` first, so a renamed CSV, a legacy ``.xls``, an
encrypted workbook, a truncated download, an Office lock file or a zip bomb gets a
clear Chinese message instead of a library traceback.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
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
MAX_PARTS = 1000  # zip members (the limits on the sheets inside: gkreport.readers.sheet_limits)


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
            from .sheet_limits import check_workbook_limits  # (it imports this module)

            check_workbook_limits(zf, verify)  # also checks every CRC when verify
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
        if isinstance(e, ZIP_ERRORS):
            raise zip_damage(e) from None
        raise
    if keep_open:
        return kind, zf
    zf.close()
    return kind, None


def zip_damage(e: BaseException) -> ReadError:
    """A zip fault (one of :data:`ZIP_ERRORS`) met while reading, in the user's words."""
    if isinstance(e, NotImplementedError):
        return ReadError("文件使用了不支持的压缩方式，请在 Excel 中重新保存后再试")
    return ReadError("文件已损坏或不完整（可能下载/复制中断），无法打开")
