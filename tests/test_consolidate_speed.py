"""What makes a province-sized consolidation fast and small must not change what it reads."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytest
from tests.test_make_agencies import mk

from gkreport.consolidation.consolidate import consolidate, write_summary
from gkreport.consolidation.consolidate_model import CellValues, pack_values
from gkreport.consolidation.consolidate_read import summarise_file
from gkreport.core.forms import load_form
from gkreport.readers import ReadError, read_any
from gkreport.readers.workbook import fast_decline_reason


def test_packed_values_are_the_same_numbers_and_pickle_small() -> None:
    form = load_form("2021")
    ids = list(form.cells)
    values = {ids[0]: 5, ids[3]: 2.5, ids[7]: 10**12, ids[-1]: -0.1}
    packed = pack_values(form, values)
    assert isinstance(packed, CellValues)
    assert dict(packed) == values and len(packed) == 4 and ids[1] not in packed
    assert type(packed[ids[0]]) is int and packed.get(ids[2], 0) == 0
    again = pickle.loads(pickle.dumps(packed))
    assert dict(again) == values
    assert len(pickle.dumps(packed)) < len(pickle.dumps({c: 1 for c in ids}))
    # a number a double would not hold exactly stays as it was
    exact = {ids[0]: 2**53 + 1}
    assert pack_values(form, exact) is exact


def test_a_summary_sends_packed_values_equal_to_the_report(tmp_path: Path) -> None:
    rec = mk.write_agencies(2, tmp_path / "in", seed=5, error_share=0.0, fast=True)
    for r in rec:
        s = summarise_file(str(r["path"]))
        report = read_any(r["path"], mode="full")
        assert isinstance(s.values, CellValues)
        assert dict(s.values) == {c: v.arith for c, v in report.values.items() if v.arith}


def _flip_member_crc(src: Path, dst: Path, member: str) -> None:
    """A copy whose central directory gives ``member`` another CRC (the bytes unchanged)."""
    data = bytearray(src.read_bytes())
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(member.encode()))
    data[at + 16] ^= 0x01
    dst.write_bytes(bytes(data))


def test_a_member_like_one_already_verified_is_still_checked(tmp_path: Path) -> None:
    """Byte-identical members are inflated once per process; a member whose bytes or CRC differ
    in the slightest is inflated and checked again (the hidden sheet every file shares)."""
    rec = mk.write_agencies(2, tmp_path / "in", seed=6, error_share=0.0, fast=True)
    first, second = (Path(str(r["path"])) for r in rec)
    assert fast_decline_reason(first) is None and fast_decline_reason(second) is None
    bad = tmp_path / "bad.xlsx"
    _flip_member_crc(second, bad, "xl/worksheets/sheet5.xml")
    with pytest.raises(ReadError, match="损坏"):
        fast_decline_reason(bad)
    flipped = bytearray(second.read_bytes())
    with zipfile.ZipFile(second) as zf:
        info = zf.getinfo("xl/worksheets/sheet5.xml")
    flipped[info.header_offset + 30 + len(info.filename) + 100] ^= 0x10
    bad.write_bytes(bytes(flipped))
    assert not summarise_file(str(bad)).ok


def test_writing_shows_progress_through_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mk.write_agencies(5, tmp_path / "in", seed=7, fast=True)
    result = consolidate([tmp_path / "in"], jobs=1)
    write_summary(result, tmp_path / "out.xlsx", progress=True)
    err = capsys.readouterr().err
    assert "写入汇总表" in err and err.rstrip().endswith(" 行")
    done, total = err.rstrip().rsplit(" ", 2)[-2].split("/")
    assert done == total and int(total) >= 2 * 5


def test_a_refused_part_is_refused_again_when_seen_again(tmp_path: Path) -> None:
    """The sheet-limit verdict kept for a part (see readers/sheet_limits.py) is the refusal too."""
    from fast_agency_writer import FastAgencyWriter

    from gkreport.output.fill import fill_workbook
    from gkreport.output.template import build_template

    form = load_form("2021")
    values = {cid: 1 for cid in form.cells}
    writer = FastAgencyWriter(form, fill_workbook(build_template(form), form, values, {"hdr.agency": "甲"}))
    values["t2.new.person"] = 10**400
    for name in ("a.xlsx", "b.xlsx"):  # byte for byte the same: the second is served from the caches
        writer.write(tmp_path / name, values, {"hdr.agency": "甲"})
        s = summarise_file(str(tmp_path / name))
        assert not s.ok and "300 位" in s.error, s.error
