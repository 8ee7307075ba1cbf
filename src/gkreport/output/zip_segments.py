"""A zip archive whose members are put together from deflate streams compressed apart.

Why: the summary's bulk rows are compressed in two processes at once (see
:mod:`gkreport.output.xlsx_split`), and :mod:`zipfile` can only write a member whose data it
compresses itself. A member here is a sequence of pieces: bytes (compressed here) and
:class:`DeflatedBody` segments (compressed elsewhere, with the CRC-32 and length of what they
hold). Every segment is a raw deflate stream ended by a sync flush (no final block, byte
aligned) that refers to nothing before its own start, so segments put end to end are one
valid stream; the member's last piece is compressed here and ends it. The CRC of the whole
is combined from the pieces' CRCs (:func:`crc32_combine`, zlib's algorithm).

The archive written is what :mod:`zipfile` writes (local headers with the sizes, a central
directory, ZIP64 records where a size, an offset or the count needs them) and is read back
by zipfile, openpyxl, calamine, Excel and LibreOffice like any other.
"""

from __future__ import annotations

import shutil
import struct
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO

LEVEL = 6  # zlib's default, what zipfile uses: the same size as before
_LIMIT = 0xFFFFFFFF  # a size or offset at or beyond this needs ZIP64 (patched small in the tests)
_COUNT_LIMIT = 0xFFFF
_WIDE, _WIDE_COUNT = 0xFFFFFFFF, 0xFFFF  # "see the ZIP64 record"


@dataclass(frozen=True)
class DeflatedBody:
    """A raw deflate segment in ``path``: ``size`` bytes of data whose CRC-32 is ``crc``."""

    path: Path
    crc: int
    size: int

    @property
    def compressed(self) -> int:
        return self.path.stat().st_size


def deflate_to(chunks: Iterable[bytes], path: Path) -> DeflatedBody:
    """Compress ``chunks`` into ``path`` as one segment (sync-flushed, see the module's docstring)."""
    comp = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    crc = size = 0
    with open(path, "wb") as fh:
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            fh.write(comp.compress(chunk))
        fh.write(comp.flush(zlib.Z_SYNC_FLUSH))
    return DeflatedBody(path, crc, size)


def _deflate(data: bytes, last: bool) -> bytes:
    comp = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


# ------------------------------------------------------------------------------ CRC-32 combined


def _times(matrix: Sequence[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _square(matrix: Sequence[int]) -> list[int]:
    return [_times(matrix, row) for row in matrix]


@cache
def _zeros(k: int) -> tuple[int, ...]:
    """The operator that appends 2**k zero bytes to a CRC-32's message."""
    if k == 0:
        matrix = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
        for _ in range(3):  # two bits, four, a byte
            matrix = _square(matrix)
        return tuple(matrix)
    return tuple(_square(_zeros(k - 1)))


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of ``A + B`` from ``crc1`` = crc32(A), ``crc2`` = crc32(B) and len(B): zlib's
    ``crc32_combine`` (which Python's zlib does not expose), in GF(2) matrices."""
    k = 0
    while len2 > 0:
        if len2 & 1:
            crc1 = _times(_zeros(k), crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


# ------------------------------------------------------------------------------ the archive


@dataclass
class _Entry:
    name: bytes
    dos_time: int
    dos_date: int
    external_attr: int
    crc: int
    compressed: int
    size: int
    offset: int


class SegmentZipWriter:
    """Writes members made of pieces to ``fh`` (a file opened for writing, at its start)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self._entries: list[_Entry] = []
        self._offset = 0

    def add(self, name: str, date_time: tuple[int, int, int, int, int, int], external_attr: int,
            pieces: Sequence[bytes | DeflatedBody]) -> None:
        """One deflated member: ``pieces`` in order (at least one; bytes are compressed here)."""
        data: list[bytes | DeflatedBody] = []
        crc = size = compressed = 0
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            if isinstance(piece, DeflatedBody):
                if last:
                    raise ValueError("a member ends with a piece compressed here (the final block)")
                data.append(piece)
                crc, size, compressed = crc32_combine(crc, piece.crc, piece.size), size + piece.size, \
                    compressed + piece.compressed
            else:
                packed = _deflate(piece, last)
                data.append(packed)
                crc, size, compressed = zlib.crc32(piece, crc), size + len(piece), compressed + len(packed)
        y, mo, d, h, mi, s = date_time
        entry = _Entry(name.encode("utf-8"), h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d,
                       external_attr, crc, compressed, size, self._offset)
        self._write(self._local_header(entry))
        for piece in data:
            if isinstance(piece, DeflatedBody):
                with open(piece.path, "rb") as src:
                    shutil.copyfileobj(src, self.fh, 1 << 20)
                self._offset += piece.compressed
            else:
                self._write(piece)
        self._entries.append(entry)

    def close(self) -> None:
        """The central directory and its end record(s)."""
        start = self._offset
        for e in self._entries:
            self._write(self._central_header(e))
        end = self._offset
        count, cd_size = len(self._entries), end - start
        if count >= _COUNT_LIMIT or cd_size >= _LIMIT or start >= _LIMIT:
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, start))
            self._write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
        n = _WIDE_COUNT if count >= _COUNT_LIMIT else count
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, _wide(cd_size), _wide(start), 0))
        self.fh.flush()

    def _write(self, data: bytes) -> None:
        self.fh.write(data)
        self._offset += len(data)

    @staticmethod
    def _flags(e: _Entry) -> int:
        return 0 if e.name.isascii() else 0x800  # UTF-8 names

    def _local_header(self, e: _Entry) -> bytes:
        big = e.size >= _LIMIT or e.compressed >= _LIMIT
        extra = struct.pack("<HHQQ", 1, 16, e.size, e.compressed) if big else b""
        sizes = (_WIDE, _WIDE) if big else (e.compressed, e.size)
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if big else 20, self._flags(e), 8, e.dos_time, e.dos_date,
                           e.crc, *sizes, len(e.name), len(extra)) + e.name + extra

    def _central_header(self, e: _Entry) -> bytes:
        wide = [v for v in (e.size, e.compressed, e.offset) if v >= _LIMIT]
        fields = []
        if e.size >= _LIMIT:
            fields.append(e.size)
        if e.compressed >= _LIMIT:
            fields.append(e.compressed)
        if e.offset >= _LIMIT:
            fields.append(e.offset)
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if wide else b""
        version = 45 if wide else 20
        return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 3 << 8 | version, version, self._flags(e), 8,
                           e.dos_time, e.dos_date, e.crc, _wide(e.compressed), _wide(e.size),
                           len(e.name), len(extra), 0, 0, 0, e.external_attr, _wide(e.offset)) + e.name + extra


def _wide(v: int) -> int:
    """A 32-bit field's value: ``v``, or the mark that the ZIP64 record holds it."""
    return _WIDE if v >= _LIMIT else v


def now_date_time() -> tuple[int, int, int, int, int, int]:
    """The local time as a zip member's date and time (as zipfile stamps what it writes)."""
    return time.localtime(time.time())[:6]
