"""Hundreds of mutated workbooks through every entry point, in-process: no unexpected exception.

Each example takes one of a few real templates (filled, with a planted error, the old
form, an already marked copy) and damages it the way files get damaged: flipped bytes,
a cut-off download, a zip member removed or two swapped, XML edited (a span deleted or
doubled, junk or a huge number inserted). The result goes through what ``check``,
``check --mark``, ``consolidate`` and ``import`` run. Only the project's own Chinese
read errors may come out; an internal error (logged, exit code 3) fails the test.
"""

from __future__ import annotations

import functools
import io
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkreport.commands.cli_import import read_for_import
from gkreport.consolidation.consolidate import consolidate, summarise_file
from gkreport.core.forms import load_form
from gkreport.markers.checking import check_file
from gkreport.output.fill import write_filled
from gkreport.readers import ReadError

INSERTS = [b"", b"<", b"&lol;", b"\x00\xff", b'<c r="XFD1048576"><v>1</v></c>', b"<v>" + b"9" * 400 + b"</v>",
           b'<c r="D7" t="s"><v>99999</v></c>', b'<mergeCell ref="A1:ZZ9999"/>', "填报单位".encode(),
           b'<definedName name="t2.new.total">#REF!</definedName>', b"]]>", b'<row r="0">']


@functools.cache
def templates() -> tuple[bytes, ...]:
    """The base workbooks, built once: filled 2021, 2021 with an error, 2019, a marked copy."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        f21, f19 = load_form("2021"), load_form("2019")
        good = write_filled(f21, d / "a.xlsx", {c: 0 for c in f21.cells}, {"hdr.agency": "甲局", "hdr.year": 2023})
        bad = write_filled(f21, d / "b.xlsx", {**{c: 0 for c in f21.cells}, "t2.new.person": 5, "t2.new.legal": "2件"},
                           {"hdr.agency": "乙局", "hdr.year": 2023})
        old = write_filled(f19, d / "c.xlsx", {c: 1 for c in f19.cells}, {"hdr.agency": "丙局", "hdr.year": 2020})
        marked = check_file(bad, mark_dir=d / "m").marked
        assert marked is not None
        out = [p.read_bytes() for p in (good, bad, old, marked)]
    return tuple(out)


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    return list(_parts(data))


@functools.cache
def _parts(data: bytes) -> tuple[tuple[zipfile.ZipInfo, bytes], ...]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return tuple((i, zf.read(i)) for i in zf.infolist())


def _zip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for info, body in members:
            zf.writestr(info.filename, body)
    return buf.getvalue()


class Mutant(bytes):
    """Workbook bytes that print as what was done to them (a failing example stays readable)."""

    what = ""

    def __repr__(self) -> str:
        return f"<{len(self)} bytes: {self.what}>"


@st.composite
def mutated(draw: st.DrawFn) -> Mutant:
    base = draw(st.sampled_from(range(len(templates()))))
    kind = draw(st.sampled_from(["flip", "truncate", "remove", "swap", "xml", "xml", "xml"]))
    out = Mutant(_mutate(draw, templates()[base], kind))
    out.what = f"template {base}, {kind}"
    return out


def _mutate(draw: st.DrawFn, data: bytes, kind: str) -> bytes:
    if kind == "flip":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(buf) - 1))
            buf[at] ^= draw(st.integers(1, 255))
        return bytes(buf)
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    members = _members(data)
    i = draw(st.integers(0, len(members) - 1))
    if kind == "remove":
        return _zip(members[:i] + members[i + 1:])
    if kind == "swap":
        j = draw(st.integers(0, len(members) - 1))
        (a, da), (b, db) = members[i], members[j]
        members[i], members[j] = (a, db), (b, da)
        return _zip(members)
    # XML edit inside one member: delete or double a span, or insert something hostile.
    info, body = members[i]
    if not body:
        return _zip(members)
    start = draw(st.integers(0, len(body) - 1))
    end = min(len(body), start + draw(st.integers(0, 200)))
    edit = draw(st.sampled_from(["delete", "double", "insert"]))
    if edit == "delete":
        body = body[:start] + body[end:]
    elif edit == "double":
        body = body[:end] + body[start:end] + body[end:]
    else:
        body = body[:start] + draw(st.sampled_from(INSERTS)) + body[start:]
    members[i] = (info, body)
    return _zip(members)


def _no_internal_error(message: str) -> None:
    assert "内部错误" not in message, message


@settings(max_examples=320, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated(), st.sampled_from(["check", "mark", "consolidate", "consolidate", "import", "import"]))
def test_mutated_workbooks_never_raise_unexpectedly(data: bytes, command: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "报表.xlsx"
        path.write_bytes(data)
        if command in ("check", "mark"):
            result = check_file(path, mark_dir=Path(tmp) / "标注" if command == "mark" else None)
            assert not result.internal, result.error
            if result.error is None and command == "mark":
                assert result.marked is not None and result.marked.is_file()
        elif command == "consolidate":
            summary = summarise_file(str(path))
            assert not summary.internal, summary.error
            _no_internal_error(summary.error)
        else:
            try:
                read_for_import(path)
            except ReadError as e:
                assert str(e)


@pytest.mark.parametrize("base", [0, 3])
def test_a_sheet_whose_stream_does_not_inflate_is_damaged_not_a_bug(base: int, tmp_path: Path) -> None:
    """A flipped byte that breaks the deflate stream itself (zlib: "invalid distance too far
    back"), not only its CRC: the fast reader declines, and the full reader's limit check met
    zlib's own error; fuzzing found it as an internal error (exit 3)."""
    data = templates()[base]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = max((i for i in zf.infolist() if i.filename.startswith("xl/worksheets/")), key=lambda i: i.compress_size)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    body = data[start:start + info.compress_size]
    flipped = next(f for f in _one_byte_flips(body) if not _inflates(f))
    path = tmp_path / "报表.xlsx"
    path.write_bytes(data[:start] + flipped + data[start + info.compress_size:])
    summary = summarise_file(str(path))
    assert summary.unreadable and not summary.internal and "损坏" in summary.error
    result = check_file(path)
    assert not result.internal and result.error and "损坏" in result.error


def _one_byte_flips(body: bytes) -> Iterator[bytes]:
    for mask in (0xFF, 0x80, 0x10, 0x01):
        for at in range(len(body)):
            yield body[:at] + bytes([body[at] ^ mask]) + body[at + 1:]


def _inflates(stream: bytes) -> bool:
    try:
        zlib.decompressobj(-15).decompress(stream)
    except zlib.error:
        return False
    return True


def test_a_folder_of_mutants_consolidates_and_lists_every_file(tmp_path: Path) -> None:
    """consolidate() itself over damaged and intact files: every file is accounted for."""
    data = templates()
    folder = tmp_path / "县"
    folder.mkdir()
    for n, base in enumerate(data[:3]):
        (folder / f"好{n}.xlsx").write_bytes(base)
        (folder / f"断{n}.xlsx").write_bytes(base[: len(base) // 3])
        members = _members(base)
        (folder / f"缺{n}.xlsx").write_bytes(_zip(members[1:]))
    result = consolidate([folder], jobs=1)
    assert len(result.entries) == 9
    for e in result.entries:
        _no_internal_error(e.summary.error)
    assert {e.file for e in result.entries if e.summary.ok} >= {"好0.xlsx", "好1.xlsx"}


@pytest.mark.parametrize("cut", [0, 1, 30, 100])
def test_tiny_pieces_of_a_workbook_are_read_errors(tmp_path: Path, cut: int) -> None:
    p = tmp_path / "片段.xlsx"
    p.write_bytes(templates()[0][:cut])
    result = check_file(p)
    assert result.error and not result.internal
