"""MS-OVBA run-length compression (MS-OVBA 2.4.1).

VBA keeps module source, the ``dir`` stream and a few others in a
"CompressedContainer": a signature byte ``0x01`` followed by chunks that each
decompress to at most 4096 bytes.  Office refuses a project whose containers
do not follow the format exactly, so this module implements the algorithm of
MS-OVBA 2.4.1.3 (decompression) and 2.4.1.3.6-2.4.1.3.19 (compression)
literally, and the tests check it against ``oletools``' independent
implementation.
"""

from __future__ import annotations

__all__ = ["OvbaError", "compress", "decompress"]

_SIGNATURE = 0x01
_CHUNK_SIZE = 4096
_MAX_COMPRESSED_CHUNK = 4098  # header (2) + data (4096)
_MAX_CANDIDATES = 512  # bound the match search; only affects ratio, not validity


class OvbaError(ValueError):
    """Raised when a CompressedContainer is malformed."""


def _copy_token_help(difference: int) -> tuple[int, int]:
    """Return ``(bit_count, maximum_length)`` for a copy token (MS-OVBA 2.4.1.3.19.1).

    ``difference`` is the number of bytes already decompressed in the current
    chunk; the more bytes there are, the more bits the offset needs, leaving
    fewer for the length.
    """
    bit_count = 4
    while (1 << bit_count) < difference:
        bit_count += 1
    maximum_length = (0xFFFF >> bit_count) + 3
    return bit_count, maximum_length


def decompress(data: bytes) -> bytes:
    """Decompress a CompressedContainer (MS-OVBA 2.4.1.3.1)."""
    if not data:
        raise OvbaError("empty container")
    if data[0] != _SIGNATURE:
        raise OvbaError(f"bad signature byte 0x{data[0]:02X}")
    out = bytearray()
    pos = 1
    end = len(data)
    while pos < end:
        if pos + 2 > end:
            raise OvbaError("truncated chunk header")
        header = data[pos] | (data[pos + 1] << 8)
        size = (header & 0x0FFF) + 3
        if (header >> 12) & 0b111 != 0b011:
            raise OvbaError(f"bad chunk signature at offset {pos}")
        compressed = bool(header & 0x8000)
        chunk_end = min(pos + size, end)
        pos += 2
        if not compressed:
            # A raw chunk carries 4096 literal bytes (fewer only when the
            # container ends, which oletools also accepts).
            out += data[pos : pos + _CHUNK_SIZE]
            pos += _CHUNK_SIZE
            continue
        chunk_start = len(out)
        while pos < chunk_end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not (flags >> bit) & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                if pos + 2 > chunk_end:
                    raise OvbaError("truncated copy token")
                token = data[pos] | (data[pos + 1] << 8)
                pos += 2
                bit_count, _ = _copy_token_help(len(out) - chunk_start)
                length = (token & (0xFFFF >> bit_count)) + 3
                offset = (token >> (16 - bit_count)) + 1
                src = len(out) - offset
                if src < chunk_start:
                    raise OvbaError("copy token points before the chunk")
                for i in range(length):  # may overlap: copy byte by byte
                    out.append(out[src + i])
        pos = chunk_end
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    """Compress one chunk's token sequences (MS-OVBA 2.4.1.3.7-2.4.1.3.9).

    The match search keeps, per 3-byte prefix, the positions seen so far in
    this chunk and takes the longest match, preferring the nearest on ties,
    as the pseudo-code of MS-OVBA 2.4.1.3.19.4 does.  (Office's own output
    sometimes picks another candidate of equal length; any valid choice
    decompresses to the same bytes.)
    """
    out = bytearray()
    table: dict[bytes, list[int]] = {}
    pos = 0
    n = len(chunk)

    def remember(i: int) -> None:
        if i + 3 <= n:
            table.setdefault(chunk[i : i + 3], []).append(i)

    while pos < n:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            best_len = 0
            best_off = 0
            if pos + 3 <= n:
                _, max_len = _copy_token_help(pos)
                limit = min(max_len, n - pos)
                candidates = table.get(chunk[pos : pos + 3], ())
                for cand in reversed(candidates[-_MAX_CANDIDATES:]):
                    length = 3
                    while length < limit and chunk[cand + length] == chunk[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len = length
                        best_off = pos - cand
                        if length == limit:
                            break
            if best_len >= 3:
                bit_count, _ = _copy_token_help(pos)
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - 3)
                out += token.to_bytes(2, "little")
                flags |= 1 << bit
                for i in range(pos, pos + best_len):
                    remember(i)
                pos += best_len
            else:
                out.append(chunk[pos])
                remember(pos)
                pos += 1
        out[flag_index] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Compress ``data`` into a CompressedContainer (MS-OVBA 2.4.1.3.6).

    A chunk whose compressed form would not fit in 4096 bytes is stored raw
    (MS-OVBA 2.4.1.3.10).  The spec pads a raw chunk to 4096 bytes, which
    would append zeros to a short final chunk; we store a short final raw
    chunk unpadded instead, so that decompression returns exactly ``data``.
    VBA source text always compresses, so Office never sees that case.
    """
    out = bytearray([_SIGNATURE])
    for start in range(0, len(data), _CHUNK_SIZE):
        chunk = data[start : start + _CHUNK_SIZE]
        body = _compress_chunk(chunk)
        if len(body) + 2 <= _MAX_COMPRESSED_CHUNK:
            header = (len(body) + 2 - 3) | (0b011 << 12) | 0x8000
            out += header.to_bytes(2, "little") + body
        else:
            header = (_MAX_COMPRESSED_CHUNK - 3) | (0b011 << 12)
            out += header.to_bytes(2, "little") + chunk
    return bytes(out)
