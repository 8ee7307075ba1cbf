"""The summary's blank workbook built while the files are read (``prepare_summary``) and the
packed-values fast path of the 明细 sheet must write exactly what the plain path writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_make_agencies import mk

from gkreport.consolidation.consolidate import consolidate, write_summary
from gkreport.consolidation.consolidate_model import CellValues, pack_values
from gkreport.core.forms import load_form

FORM = load_form("2021")
IDS = list(FORM.cells)


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = openpyxl.load_workbook(path)
    # 填报日期 is today's date in both; everything else must be equal cell for cell
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(IDS),
                       st.one_of(st.integers(-10**9, 10**9), st.floats(-1e9, 1e9, allow_nan=False)).filter(bool),
                       max_size=40))
def test_packed_values_in_form_order_equal_lookup_by_id(values: dict[str, float | int]) -> None:
    packed = pack_values(FORM, values)
    assert isinstance(packed, CellValues)
    row = packed.in_order(IDS)
    assert row is not None
    assert row == [packed.get(cid, 0) for cid in IDS]
    assert [type(x) for x in row] == [type(packed.get(cid, 0)) for cid in IDS]
    assert packed.in_order(IDS[::-1]) is None  # another order is refused, not misread
    assert packed.in_order(IDS[:-1]) is None


def test_prepared_workbook_writes_the_same_summary(tmp_path: Path) -> None:
    rec = mk.write_agencies(8, tmp_path / "in", seed=21, error_share=0.25, fast=True)
    roster = mk.write_roster(tmp_path / "名单.csv", [*rec, {"name": "某某县审计局", "level": "县本级"}])
    plain = consolidate([tmp_path / "in"], roster=roster, jobs=2)
    assert plain.blank_workbook is None
    prepared = consolidate([tmp_path / "in"], roster=roster, jobs=2, prepare_summary=True)
    assert prepared.blank_workbook is not None  # built while the workers read
    a = write_summary(plain, tmp_path / "plain.xlsx")
    b = write_summary(prepared, tmp_path / "prepared.xlsx")
    assert prepared.blank_workbook is None  # taken once: it has been filled in
    assert _cells(a) == _cells(b)
    # a second summary from the same result builds a fresh workbook (not the filled one)
    c = write_summary(prepared, tmp_path / "again.xlsx")
    assert _cells(c) == _cells(a)
    detail = openpyxl.load_workbook(b)["明细"]
    header = [c.value for c in detail[1]]
    first = [c.value for c in detail[2]]
    blanks_seen = any(v is None for v in first[2:-1])
    assert header[0] == "单位" and len(first) == len(IDS) + 3 and first[-1].endswith(".xlsx")
    assert blanks_seen or all(isinstance(v, int | float) for v in first[2:-1])


def test_a_first_file_of_another_form_prepares_nothing_wrong(tmp_path: Path) -> None:
    """The workbook is prepared for the first file's form; when most files are of another form
    the summary is of that form, and built as before."""
    d = tmp_path / "in"
    mk.write_agencies(1, d / "a-old", form_version="2019", seed=3, error_share=0.0)
    mk.write_agencies(4, d / "b-new", seed=4, error_share=0.0, fast=True)
    result = consolidate([d], jobs=2, prepare_summary=True)
    assert result.form is not None and result.form.version == "2021"
    assert result.blank_workbook is None
    out = write_summary(result, tmp_path / "s.xlsx")
    assert len(result.included) == 4
    sheet = FORM.cells[IDS[0]].sheet
    assert sheet in openpyxl.load_workbook(out).sheetnames


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(IDS[:12]),
                                st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
                                          st.just(2**53 + 1)).filter(bool), max_size=6),
                min_size=1, max_size=6))
def test_sums_of_packed_and_unpacked_values_equal_adding_one_by_one(reports: list[dict[str, float | int]]) -> None:
    """The summary adds the packed doubles a row at a time; the result is the same floats as
    adding every agency's numbers cell by cell in file order (a number a double cannot hold
    stays unpacked and takes the slow path)."""
    from gkreport.consolidation.consolidate import _clean, _sum
    from gkreport.consolidation.consolidate_model import Consolidation, FileEntry, FileSummary

    entries = []
    for k, values in enumerate(reports):
        s = FileSummary(path=f"{k}.xlsx", ok=True, form="2021", values=pack_values(FORM, values))
        entries.append(FileEntry(s, included=True, name=f"单位{k}"))
    result = Consolidation(form=FORM, year=2023, entries=entries)
    _sum(result, FORM)
    expected = dict.fromkeys(IDS, 0.0)
    for values in reports:
        for cid, v in values.items():
            expected[cid] += v
    assert result.sums == {cid: _clean(v) for cid, v in expected.items()}
