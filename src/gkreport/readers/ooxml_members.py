"""Zip members read with their size and CRC checked, each distinct one inflated once.

The fast reader reads every member of every workbook (that is how it proves no part is
damaged). Files made from one template share most members byte for byte (styles, theme,
the live checks' hidden sheet); a member whose compressed bytes, sizes and CRC equal a
member already verified inflates to the very same bytes, so its verified content is
returned again (the same object, which lets content-keyed caches downstream hit without
hashing a megabyte). Nothing is assumed: the compressed bytes are compared in full.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections import OrderedDict

_CACHE_BYTES = 16 * 1024 * 1024  # inflated bytes kept for reuse (a template's shared parts are ~1 MB)
_seen: OrderedDict[tuple[int, int, int, int], tuple[bytes, bytes]] = OrderedDict()  # key -> (raw, inflated)
_held = [0]


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, its size and CRC checked: ``zf.read`` without the per-member
    file-object machinery (half the cost for a dozen small parts); anything unusual
    (encryption, another compression method, an odd local header) goes through ``zf.read``."""
    fp = zf.fp
    if fp is None or info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return zf.read(info)
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return zf.read(info)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    raw = fp.read(info.compress_size)
    key = (info.compress_type, info.compress_size, info.file_size, info.CRC)
    hit = _seen.get(key)
    if hit is not None and hit[0] == raw:
        _seen.move_to_end(key)
        return hit[1]  # these very bytes inflated to this content, which matched this CRC
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        data = inflater.decompress(raw, info.file_size + 1)  # bounded: a lying size cannot inflate a bomb
    else:
        data = raw
    if len(raw) != info.compress_size or len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 or size for {info.filename}")
    _remember(key, raw, data)
    return data


def _remember(key: tuple[int, int, int, int], raw: bytes, data: bytes) -> None:
    """Keep a verified member for reuse, the most recent first, within :data:`_CACHE_BYTES`."""
    if len(data) > _CACHE_BYTES // 4:
        return
    old = _seen.pop(key, None)
    if old is not None:
        _held[0] -= len(old[0]) + len(old[1])
    _seen[key] = (raw, data)
    _held[0] += len(raw) + len(data)
    while _held[0] > _CACHE_BYTES and _seen:
        gone = _seen.popitem(last=False)[1]
        _held[0] -= len(gone[0]) + len(gone[1])
