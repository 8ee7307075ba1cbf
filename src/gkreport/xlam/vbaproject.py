"""Replace VBA modules inside a ``vbaProject.bin`` without Office.

A VBA project (MS-OVBA 2.2) is a compound file.  Its ``VBA/dir`` stream
(MS-OVBA 2.3.4.2, compressed) lists the project's references and modules;
each module stream holds compiled p-code followed, at ``MODULEOFFSET``, by
the compressed source.  Office accepts a module stream that holds only the
source (offset 0) when the ``_VBA_PROJECT`` stream's version is ``0xFFFF``
(MS-OVBA 2.3.4.1): it then discards every cached p-code and recompiles from
source.  That is what this module does: it edits ``dir``, ``PROJECT``,
``PROJECTwm`` and the module streams, drops ``__SRP_*`` caches and writes
the whole compound file again with :mod:`gkreport.xlam.cfb`.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from gkreport.xlam.cfb import Storage, Stream, read_cfb, write_cfb
from gkreport.xlam.ovba import compress, decompress

__all__ = [
    "Module",
    "ModuleChange",
    "VbaProjectError",
    "find_ribbon_module",
    "list_modules",
    "rewrite_project",
]

# dir stream record ids (MS-OVBA 2.3.4.2)
_PROJECTCODEPAGE = 0x0003
_PROJECTNAME = 0x0004
_PROJECTVERSION = 0x0009
_MODULENAME = 0x0019
_MODULENAMEUNICODE = 0x0047
_MODULESTREAMNAME = 0x001A
_MODULESTREAMNAMEUNICODE = 0x0032
_MODULEOFFSET = 0x0031
_MODULETYPE_PROCEDURAL = 0x0021
_MODULE_TERMINATOR = 0x002B

_VBA_PROJECT_HEADER = struct.Struct("<HHBH")  # Reserved1, Version, Reserved2, Reserved3


class VbaProjectError(ValueError):
    """Raised when a vbaProject.bin does not look like MS-OVBA expects."""


# What reading a foreign or damaged .xlam can raise (seen by fuzzing list_modules): the zip
# layer's errors, KeyError (no xl/vbaProject.bin), ValueError (VbaProjectError, OvbaError,
# CfbError, UnicodeDecodeError), OSError (olefile) and OverflowError.
READ_ERRORS = (OSError, ValueError, ArithmeticError, KeyError, EOFError, RuntimeError, NotImplementedError,
               zipfile.BadZipFile, zlib.error)


@dataclass(frozen=True)
class Module:
    """A module as listed in the ``dir`` stream, with its source text."""

    name: str
    stream_name: str
    offset: int
    procedural: bool
    source: str


@dataclass(frozen=True)
class ModuleChange:
    """New source (and optionally a new name) for one existing module.

    ``source`` may use any line endings; it is stored with CRLF, as the VBA
    editor does, unless ``crlf`` is false (then it is stored as given: the
    xlwings template ships its ``xlwings`` module with LF line endings and we
    patch it without touching anything else).  If it has an
    ``Attribute VB_Name`` line, that line must name the module's final name.
    """

    source: str
    new_name: str | None = None
    crlf: bool = True


Record = tuple[int, bytes]


def _parse_dir(data: bytes) -> list[Record]:
    """Split the decompressed ``dir`` stream into (id, payload) records.

    Every record is ``Id(2) Size(4) Data(Size)``, except PROJECTVERSION whose
    Size field is the constant 4 but which carries 6 bytes (MS-OVBA
    2.3.4.2.1.11).  Unicode companions (0x0040, 0x003C, 0x0047, ...) and the
    reference sub-records follow the same layout, so one loop suffices.
    """
    records: list[Record] = []
    pos = 0
    while pos < len(data):
        if pos + 6 > len(data):
            raise VbaProjectError("dir 流记录被截断")
        rec_id, size = struct.unpack_from("<HI", data, pos)
        pos += 6
        if rec_id == _PROJECTVERSION:
            size = 6
        if pos + size > len(data):
            raise VbaProjectError(f"dir 流记录 0x{rec_id:04X} 长度越界")
        records.append((rec_id, data[pos : pos + size]))
        pos += size
    return records


def _serialize_dir(records: list[Record]) -> bytes:
    out = bytearray()
    for rec_id, payload in records:
        size = 4 if rec_id == _PROJECTVERSION else len(payload)
        out += struct.pack("<HI", rec_id, size) + payload
    return bytes(out)


def _codec(records: list[Record]) -> str:
    for rec_id, payload in records:
        if rec_id == _PROJECTCODEPAGE:
            return f"cp{struct.unpack('<H', payload)[0]}"
    raise VbaProjectError("dir 流缺少 PROJECTCODEPAGE 记录")


def _module_spans(records: list[Record]) -> list[tuple[int, int]]:
    """Return ``(first, terminator)`` record indexes for every module."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for index, (rec_id, _) in enumerate(records):
        if rec_id == _MODULENAME:
            start = index
        elif rec_id == _MODULE_TERMINATOR and start is not None:
            spans.append((start, index))
            start = None
    return spans


def _field(records: list[Record], span: tuple[int, int], rec_id: int) -> bytes | None:
    for index in range(span[0], span[1]):
        if records[index][0] == rec_id:
            return records[index][1]
    return None


def _vba_storage(root: Storage) -> Storage:
    try:
        vba = root.find("VBA")
    except KeyError:
        raise VbaProjectError("vbaProject.bin 中没有 VBA 存储") from None
    if not isinstance(vba, Storage):
        raise VbaProjectError("vbaProject.bin 中的 VBA 不是存储")
    return vba


def _stream(storage: Storage, name: str) -> Stream:
    try:
        node = storage.find(name)
    except KeyError:
        raise VbaProjectError(f"vbaProject.bin 中缺少流 {name}") from None
    if not isinstance(node, Stream):
        raise VbaProjectError(f"{name} 不是流")
    return node


def _load(vba_project: bytes) -> tuple[Storage, Storage, list[Record], str]:
    root = read_cfb(vba_project)
    vba = _vba_storage(root)
    records = _parse_dir(decompress(_stream(vba, "dir").data))
    return root, vba, records, _codec(records)


def list_modules(vba_project: bytes) -> list[Module]:
    """List the modules of a project with their decoded source (CRLF kept)."""
    _, vba, records, codec = _load(vba_project)
    modules = []
    for span in _module_spans(records):
        name = (_field(records, span, _MODULENAME) or b"").decode(codec)
        stream_name = (_field(records, span, _MODULESTREAMNAME) or b"").decode(codec)
        offset_raw = _field(records, span, _MODULEOFFSET)
        if offset_raw is None:
            raise VbaProjectError(f"模块 {name} 缺少 MODULEOFFSET 记录")
        offset = struct.unpack("<I", offset_raw)[0]
        data = _stream(vba, stream_name).data
        modules.append(
            Module(
                name=name,
                stream_name=stream_name,
                offset=offset,
                procedural=_field(records, span, _MODULETYPE_PROCEDURAL) is not None,
                source=decompress(data[offset:]).decode(codec),
            )
        )
    return modules


def find_ribbon_module(vba_project: bytes) -> str:
    """Name the standard module that holds ribbon callbacks (``IRibbonControl``).

    The xlwings template calls it ``RibbonMyAddin``; looking it up by content
    keeps the build working if a later template renames it.
    """
    found = [
        m.name
        for m in list_modules(vba_project)
        if m.procedural and re.search(r"As\s+IRibbonControl", m.source, re.IGNORECASE)
    ]
    if len(found) != 1:
        raise VbaProjectError(f"模板中应恰好有一个功能区回调模块，实际找到：{found}")
    return found[0]


def _crlf(source: str) -> str:
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", "\r\n")


def _check_vb_name(source: str, name: str) -> None:
    match = re.search(r'^Attribute VB_Name = "([^"]*)"', source, re.MULTILINE)
    if match and match.group(1) != name:
        raise VbaProjectError(f"源码中的 VB_Name “{match.group(1)}”与模块名“{name}”不一致")


def _rename_in_project_stream(text: str, renames: Mapping[str, str], project_name: str | None) -> str:
    """Apply renames to the PROJECT stream (MS-OVBA 2.3.1), line by line."""
    lines = text.split("\r\n")
    section = ""
    for i, line in enumerate(lines):
        if line.startswith("[") and line.endswith("]"):
            section = line
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if section == "" and key in ("Module", "Class", "Document", "BaseClass"):
            name, slash, rest = value.partition("/")
            if name in renames:
                lines[i] = f"{key}={renames[name]}{slash}{rest}"
        elif section == "" and key == "Name" and project_name is not None:
            lines[i] = f'Name="{project_name}"'
        elif section == "[Workspace]" and key in renames:
            lines[i] = f"{renames[key]}={value}"
    return "\r\n".join(lines)


def _rename_in_projectwm(data: bytes, renames: Mapping[str, str], codec: str) -> bytes:
    """Rebuild PROJECTwm (MS-OVBA 2.3.3): MBCS name NUL, UTF-16 name NUL, ... NUL NUL."""
    out = bytearray()
    pos = 0
    while pos + 1 < len(data) and data[pos : pos + 2] != b"\x00\x00":
        end = data.index(b"\x00", pos)
        name = data[pos:end].decode(codec)
        pos = end + 1
        uend = pos
        while data[uend : uend + 2] != b"\x00\x00":
            uend += 2
        pos = uend + 2
        new = renames.get(name, name)
        out += new.encode(codec) + b"\x00" + new.encode("utf-16-le") + b"\x00\x00"
    return bytes(out + b"\x00\x00")


def rewrite_project(
    vba_project: bytes,
    changes: Mapping[str, ModuleChange],
    project_name: str | None = None,
) -> bytes:
    """Return a copy of ``vba_project`` with the given modules replaced.

    ``changes`` maps an existing module name to its new source (and name).
    Changed modules get a source-only stream (MODULEOFFSET 0); all other
    module streams are copied byte for byte.  ``project_name`` renames the VBA
    project (PROJECTNAME and ``Name=`` in PROJECT).  The ``_VBA_PROJECT``
    version is set to 0xFFFF and its performance cache dropped, and
    ``__SRP_*`` streams are removed, so Office recompiles from source.
    """
    root, vba, records, codec = _load(vba_project)
    spans = _module_spans(records)
    names = {(_field(records, s, _MODULENAME) or b"").decode(codec): s for s in spans}
    missing = sorted(set(changes) - set(names))
    if missing:
        raise VbaProjectError(f"模板中没有这些模块：{missing}")

    renames: dict[str, str] = {}
    for old, change in changes.items():
        span = names[old]
        new = change.new_name or old
        if new != old:
            if new in names:
                raise VbaProjectError(f"模块名 {new} 已存在")
            renames[old] = new
        _check_vb_name(change.source, new)
        stream_name = (_field(records, span, _MODULESTREAMNAME) or b"").decode(codec)
        stream = _stream(vba, stream_name)
        try:
            text = _crlf(change.source) if change.crlf else change.source
            encoded = text.encode(codec)
        except UnicodeEncodeError as exc:
            raise VbaProjectError(f"模块 {new} 的源码含有代码页 {codec} 无法表示的字符") from exc
        stream.name = new
        stream.data = compress(encoded)
        for index in range(span[0], span[1]):
            rec_id = records[index][0]
            if rec_id in (_MODULENAME, _MODULESTREAMNAME):
                records[index] = (rec_id, new.encode(codec))
            elif rec_id in (_MODULENAMEUNICODE, _MODULESTREAMNAMEUNICODE):
                records[index] = (rec_id, new.encode("utf-16-le"))
            elif rec_id == _MODULEOFFSET:
                records[index] = (rec_id, struct.pack("<I", 0))

    if project_name is not None:
        records = [
            (rid, project_name.encode(codec) if rid == _PROJECTNAME else payload) for rid, payload in records
        ]
    _stream(vba, "dir").data = compress(_serialize_dir(records))

    project = _stream(root, "PROJECT")
    text = project.data.decode(codec)
    project.data = _rename_in_project_stream(text, renames, project_name).encode(codec)
    try:
        projectwm = root.find("PROJECTwm")
    except KeyError:
        projectwm = None
    if isinstance(projectwm, Stream):
        projectwm.data = _rename_in_projectwm(projectwm.data, renames, codec)

    header = _stream(vba, "_VBA_PROJECT")
    if len(header.data) < _VBA_PROJECT_HEADER.size:
        raise VbaProjectError("_VBA_PROJECT 流太短")
    reserved1, _, reserved2, reserved3 = _VBA_PROJECT_HEADER.unpack_from(header.data)
    header.data = _VBA_PROJECT_HEADER.pack(reserved1, 0xFFFF, reserved2, reserved3)

    vba.children = [c for c in vba.children if not c.name.upper().startswith("__SRP_")]
    return write_cfb(root)
