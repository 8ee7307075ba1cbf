"""A small Compound File Binary (MS-CFB) writer, and a reader built on olefile.

``vbaProject.bin`` is a CFB file.  ``olefile`` reads CFB but can only
overwrite a stream with one of the same size, and the other Python writers
are immature or AGPL, so we write the whole file ourselves.  The writer
produces version 3 files (512-byte sectors, MS-CFB 2.2) with:

* a header (MS-CFB 2.2) holding the first 109 DIFAT entries;
* FAT sectors (2.3) and, when more than 109 FAT sectors are needed, DIFAT
  sectors (2.5);
* a directory (2.6) whose sibling trees are balanced binary search trees
  with every node black, which MS-CFB 2.6.4 explicitly allows;
* a mini stream with its mini FAT (2.4) for streams shorter than 4096 bytes.

Everything is laid out in one pass, so the output is deterministic.
"""

from __future__ import annotations

import io
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

import olefile

__all__ = ["CfbError", "Storage", "Stream", "read_cfb", "write_cfb"]

SECTOR_SIZE = 512
MINI_SECTOR_SIZE = 64
MINI_STREAM_CUTOFF = 4096
HEADER_DIFAT_ENTRIES = 109

_MAXREGSECT = 0xFFFFFFFA
_DIFSECT = 0xFFFFFFFC
_FATSECT = 0xFFFFFFFD
_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_NOSTREAM = 0xFFFFFFFF

_TYPE_STORAGE = 1
_TYPE_STREAM = 2
_TYPE_ROOT = 5
_BLACK = 1

_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_ENTRIES_PER_SECTOR = SECTOR_SIZE // 128
_IDS_PER_SECTOR = SECTOR_SIZE // 4


class CfbError(ValueError):
    """Raised for a tree that cannot be written as a compound file."""


@dataclass
class Stream:
    """A stream: a named byte string."""

    name: str
    data: bytes = b""


@dataclass
class Storage:
    """A storage: a named container of streams and storages.

    The root of a tree is a Storage too; its name is ignored and written as
    ``Root Entry``.  ``clsid`` is the 16-byte class id (little-endian GUID
    layout as stored on disk), all zeros when unset.
    """

    name: str
    children: list[Storage | Stream] = field(default_factory=list)
    clsid: bytes = bytes(16)

    def find(self, path: str) -> Storage | Stream:
        """Return the descendant at ``path`` (``/``-separated, case-insensitive)."""
        node: Storage | Stream = self
        for part in path.split("/"):
            if not isinstance(node, Storage):
                raise KeyError(path)
            for child in node.children:
                if child.name.upper() == part.upper():
                    node = child
                    break
            else:
                raise KeyError(path)
        return node


def _sort_key(name: str) -> tuple[int, str]:
    """Sibling order of MS-CFB 2.6.4: shorter names first, then by upper case."""
    return (len(name.encode("utf-16-le")) // 2, name.upper())


def _check_name(name: str) -> None:
    if not name or len(name.encode("utf-16-le")) // 2 > 31:
        raise CfbError(f"entry name must have 1..31 UTF-16 code units: {name!r}")
    if any(c in name for c in "/\\:!"):
        raise CfbError(f"illegal character in entry name: {name!r}")


@dataclass
class _Entry:
    """A directory entry being laid out."""

    name: str
    kind: int
    clsid: bytes = bytes(16)
    data: bytes = b""
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    start: int = _ENDOFCHAIN
    size: int = 0

    def pack(self) -> bytes:
        encoded = self.name.encode("utf-16-le") + b"\x00\x00"
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            encoded,
            len(encoded),
            self.kind,
            _BLACK,
            self.left,
            self.right,
            self.child,
            self.clsid,
            0,  # state bits
            0,  # creation time
            0,  # modification time
            self.start,
            self.size,
        )


_FREE_ENTRY = struct.pack(
    "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, bytes(16), 0, 0, 0, 0, 0
)


def _flatten(root: Storage) -> list[_Entry]:
    """Number the entries depth-first and link each storage's children as a tree."""
    entries = [_Entry("Root Entry", _TYPE_ROOT, clsid=root.clsid, start=_ENDOFCHAIN)]

    def add_children(parent_index: int, storage: Storage) -> None:
        seen: set[str] = set()
        indexed: list[tuple[tuple[int, str], int, Storage | Stream]] = []
        # Number siblings in CFB order so the output does not depend on the
        # order children were given in (olefile, for one, sorts them).
        for child in sorted(storage.children, key=lambda c: _sort_key(c.name)):
            _check_name(child.name)
            if child.name.upper() in seen:
                raise CfbError(f"duplicate entry name: {child.name!r}")
            seen.add(child.name.upper())
            if isinstance(child, Storage):
                entry = _Entry(child.name, _TYPE_STORAGE, clsid=child.clsid, start=0)
            else:
                entry = _Entry(child.name, _TYPE_STREAM, data=bytes(child.data))
            entries.append(entry)
            indexed.append((_sort_key(child.name), len(entries) - 1, child))
        indexed.sort(key=lambda item: item[0])
        order = [index for _, index, _ in indexed]
        entries[parent_index].child = _balance(entries, order)
        for _, index, child in indexed:
            if isinstance(child, Storage):
                add_children(index, child)

    add_children(0, root)
    return entries


def _balance(entries: list[_Entry], order: list[int]) -> int:
    """Link sorted sibling ids as a balanced binary search tree; return its root."""
    if not order:
        return _NOSTREAM
    middle = len(order) // 2
    node = entries[order[middle]]
    node.left = _balance(entries, order[:middle])
    node.right = _balance(entries, order[middle + 1 :])
    return order[middle]


def _sectors(length: int, size: int) -> int:
    return -(-length // size)


def write_cfb(root: Storage) -> bytes:
    """Serialise ``root`` as a version 3 compound file and return its bytes."""
    entries = _flatten(root)

    # Mini stream: streams shorter than the cutoff, each padded to 64 bytes.
    mini_stream = bytearray()
    mini_fat: list[int] = []
    big: list[_Entry] = []
    for entry in entries:
        if entry.kind != _TYPE_STREAM:
            continue
        entry.size = len(entry.data)
        if entry.size == 0:
            entry.start = _ENDOFCHAIN
        elif entry.size < MINI_STREAM_CUTOFF:
            count = _sectors(entry.size, MINI_SECTOR_SIZE)
            first = len(mini_fat)
            entry.start = first
            mini_fat.extend(range(first + 1, first + count))
            mini_fat.append(_ENDOFCHAIN)
            mini_stream += entry.data
            mini_stream += bytes(count * MINI_SECTOR_SIZE - len(entry.data))
        else:
            big.append(entry)

    dir_count = _sectors(len(entries), _ENTRIES_PER_SECTOR)
    minifat_count = _sectors(len(mini_fat), _IDS_PER_SECTOR)
    ministream_count = _sectors(len(mini_stream), SECTOR_SIZE)
    data_count = dir_count + minifat_count + ministream_count
    data_count += sum(_sectors(e.size, SECTOR_SIZE) for e in big)

    # FAT and DIFAT sectors describe themselves too: iterate to a fixed point.
    fat_count = difat_count = 0
    while True:
        total = fat_count + difat_count + data_count
        need_fat = _sectors(total, _IDS_PER_SECTOR)
        need_difat = _sectors(max(0, need_fat - HEADER_DIFAT_ENTRIES), _IDS_PER_SECTOR - 1)
        if (need_fat, need_difat) == (fat_count, difat_count):
            break
        fat_count, difat_count = need_fat, need_difat
    if fat_count + difat_count + data_count > _MAXREGSECT:
        raise CfbError("compound file too large")

    fat: list[int] = []
    sectors: list[bytes] = []

    def allocate(payload: bytes) -> int:
        """Append ``payload`` as a chain of sectors; return its first sector."""
        count = _sectors(len(payload), SECTOR_SIZE)
        if count == 0:
            return _ENDOFCHAIN
        first = fat_count + difat_count + len(sectors)
        for i in range(count):
            chunk = payload[i * SECTOR_SIZE : (i + 1) * SECTOR_SIZE]
            sectors.append(chunk + bytes(SECTOR_SIZE - len(chunk)))
        fat.extend(range(first + 1, first + count))
        fat.append(_ENDOFCHAIN)
        return first

    fat.extend([_FATSECT] * fat_count + [_DIFSECT] * difat_count)

    # Directory: reserve its sectors first so entries can hold final positions.
    dir_start = fat_count + difat_count
    fat.extend(range(dir_start + 1, dir_start + dir_count))
    fat.append(_ENDOFCHAIN)
    sectors.extend([b""] * dir_count)

    minifat_payload = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    minifat_payload += b"\xff" * (minifat_count * SECTOR_SIZE - len(minifat_payload))
    minifat_start = allocate(minifat_payload)
    entries[0].start = allocate(bytes(mini_stream))
    entries[0].size = len(mini_stream)
    for entry in big:
        entry.start = allocate(entry.data)

    directory = b"".join(entry.pack() for entry in entries)
    directory += _FREE_ENTRY * (dir_count * _ENTRIES_PER_SECTOR - len(entries))
    for i in range(dir_count):
        sectors[i] = directory[i * SECTOR_SIZE : (i + 1) * SECTOR_SIZE]

    fat_ids = list(range(fat_count))
    difat_ids = list(range(fat_count, fat_count + difat_count))
    fat.extend([_FREESECT] * (fat_count * _IDS_PER_SECTOR - len(fat)))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)

    header_difat = fat_ids[:HEADER_DIFAT_ENTRIES]
    header_difat += [_FREESECT] * (HEADER_DIFAT_ENTRIES - len(header_difat))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        _SIGNATURE,
        bytes(16),
        0x003E,  # minor version
        0x0003,  # major version: 512-byte sectors
        0xFFFE,  # byte order mark
        9,  # sector shift
        6,  # mini sector shift
        bytes(6),
        0,  # number of directory sectors (must be 0 in version 3)
        fat_count,
        dir_start,
        0,  # transaction signature
        MINI_STREAM_CUTOFF,
        minifat_start,
        minifat_count,
        difat_ids[0] if difat_ids else _ENDOFCHAIN,
        difat_count,
    ) + struct.pack(f"<{HEADER_DIFAT_ENTRIES}I", *header_difat)

    out = io.BytesIO()
    out.write(header)
    out.write(fat_bytes)
    rest = fat_ids[HEADER_DIFAT_ENTRIES:]
    per = _IDS_PER_SECTOR - 1
    for i, sector_id in enumerate(difat_ids):
        part = rest[i * per : (i + 1) * per]
        part += [_FREESECT] * (per - len(part))
        following = difat_ids[i + 1] if i + 1 < len(difat_ids) else _ENDOFCHAIN
        assert sector_id == fat_count + i
        out.write(struct.pack(f"<{_IDS_PER_SECTOR}I", *part, following))
    for sector in sectors:
        out.write(sector)
    return out.getvalue()


def _clsid_bytes(text: str) -> bytes:
    """Turn olefile's CLSID string back into the 16 bytes stored on disk."""
    return uuid.UUID(text).bytes_le if text else bytes(16)


def read_cfb(data: bytes) -> Storage:
    """Read a compound file into a tree of Storage and Stream (via olefile)."""
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:

        # Any: types-olefile's OleDirectoryEntry omits the attributes read here (entry_type, name, kids).
        def convert(entry: Any, path: list[str]) -> Storage | Stream:
            if entry.entry_type == olefile.STGTY_STREAM:
                return Stream(entry.name, ole.openstream(path).read())
            node = Storage(entry.name, clsid=_clsid_bytes(entry.clsid))
            node.children = [convert(kid, [*path, kid.name]) for kid in entry.kids]
            return node

        root = convert(ole.root, [])
    finally:
        ole.close()
    assert isinstance(root, Storage)
    return root
