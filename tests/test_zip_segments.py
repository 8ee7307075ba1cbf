"""Members put together from deflate segments compressed apart (output/zip_segments.py) read back
exactly, by zipfile (CRC checked) and openpyxl, with and without ZIP64 records."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkreport.output import zip_segments
from gkreport.output.zip_segments import DeflatedBody, SegmentZipWriter, crc32_combine, deflate_to

DATE = (2024, 5, 17, 13, 45, 58)


@settings(max_examples=200)
@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_crc32_combine_is_the_crc_of_the_concatenation(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_crc32_combine_over_long_lengths() -> None:
    a, b = b"head" * 1000, bytes(range(256)) * 40_000  # 10 MB
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


# a member: pieces, each (is a separately deflated segment, its data); the last is compressed by the writer
pieces = st.lists(st.tuples(st.booleans(), st.binary(max_size=2000) | st.text(max_size=300).map(str.encode)),
                  min_size=0, max_size=4).map(lambda ps: [*ps, (False, b"</end>")])
members = st.lists(pieces, min_size=1, max_size=6)


def _write(tmp: Path, spec: list[list[tuple[bool, bytes]]]) -> bytes:
    buf = io.BytesIO()
    out = SegmentZipWriter(buf)
    for m, member in enumerate(spec):
        parts: list[bytes | DeflatedBody] = []
        for p, (segment, data) in enumerate(member):
            if segment:
                # compressed elsewhere, in chunks, like the rows
                chunks = [data[i:i + 700] for i in range(0, len(data), 700)]
                parts.append(deflate_to(chunks, tmp / f"{m}-{p}.deflate"))
            else:
                parts.append(data)
        out.add(f"xl/worksheets/sheet{m}.xml", DATE, 0o600 << 16, parts)
    out.close()
    return buf.getvalue()


def _check(raw: bytes, spec: list[list[tuple[bool, bytes]]]) -> None:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert zf.testzip() is None  # every CRC right
        assert zf.namelist() == [f"xl/worksheets/sheet{m}.xml" for m in range(len(spec))]
        for m, member in enumerate(spec):
            info = zf.getinfo(f"xl/worksheets/sheet{m}.xml")
            assert zf.read(info) == b"".join(d for _, d in member)
            assert info.date_time == DATE and info.compress_type == zipfile.ZIP_DEFLATED


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members)
def test_members_read_back_exactly(tmp_path: Path, spec: list[list[tuple[bool, bytes]]]) -> None:
    _check(_write(tmp_path, spec), spec)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members)
def test_zip64_records_read_back_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         spec: list[list[tuple[bool, bytes]]]) -> None:
    """Sizes, offsets and counts beyond the 32-bit fields (made small here) go to ZIP64 records."""
    with monkeypatch.context() as m:
        m.setattr(zip_segments, "_LIMIT", 50)
        m.setattr(zip_segments, "_COUNT_LIMIT", 2)
        raw = _write(tmp_path, spec)
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw  # the ZIP64 end record and its locator
    _check(raw, spec)


def test_a_segment_cannot_end_a_member(tmp_path: Path) -> None:
    body = deflate_to([b"x"], tmp_path / "b")
    with pytest.raises(ValueError, match="final block"):
        SegmentZipWriter(io.BytesIO()).add("a.xml", DATE, 0, [b"<a>", body])
