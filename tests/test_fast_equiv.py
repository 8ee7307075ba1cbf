"""One reading, two speeds: the fast reader (consolidate) reads a file exactly as the full
reader (check) does, or leaves it to the full reader.

Every workbook here is built in the test: filled templates of both forms, then the kinds
of file that used to be read differently (rows/columns inserted, names moved, stale
formulas with single-quoted attributes, merges over data cells, ISO Strict, damaged sheet
parts, "=1+1" typed as text), and workbooks mutated at random by hypothesis.
The invariant: fast(f) == full(f) cell for cell (values, states, header, the findings
that come from reading) OR the fast reader declined.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.workbook.defined_name import DefinedName

from conftest import lo_convert
from gkreport.consolidation.consolidate import consolidate
from gkreport.core import addresses as addr
from gkreport.core.engine import check
from gkreport.core.forms import Form, load_form
from gkreport.output.fill import fill_workbook
from gkreport.output.template import build_template
from gkreport.readers import ReadError, read_any
from gkreport.readers.workbook import fast_decline_reason, name_target

FORMS = ("2019", "2021")
# CI keeps the property tests well under 40 s; GK_EQUIV_EXAMPLES=500 for a long local run.
EXAMPLES = int(os.environ.get("GK_EQUIV_EXAMPLES", "25"))


# ------------------------------------------------------------------------------ building


def _values(form: Form, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    for cid, cell in form.cells.items():
        r = rng.random()
        if r < 0.1:
            out[cid] = None
        elif cell.type == "amount":
            out[cid] = round(rng.uniform(0, 5000), 2)
        elif cell.type == "signed":
            out[cid] = rng.randint(-5, 30)
        else:
            out[cid] = rng.randint(0, 40)
    return out


HEADER = {"hdr.agency": "某某县测试局", "hdr.region": "某某县", "hdr.preparer": "张三", "hdr.date": "2024-01-20"}

_TEMPLATES: dict[str, bytes] = {}


def _template_bytes(version: str) -> bytes:
    """The empty template of a form, built once per test session (building takes a while)."""
    if version not in _TEMPLATES:
        buf = io.BytesIO()
        build_template(load_form(version)).save(buf)
        _TEMPLATES[version] = buf.getvalue()
    return _TEMPLATES[version]


def filled_book(version: str, seed: int = 1) -> tuple[openpyxl.Workbook, dict[str, Any]]:
    form = load_form(version)
    wb = openpyxl.load_workbook(io.BytesIO(_template_bytes(version)))
    values = _values(form, seed)
    year = 2020 if version == "2019" else 2023
    fill_workbook(wb, form, values, {**HEADER, "hdr.year": year})
    return wb, values


def save(wb: openpyxl.Workbook, path: Path) -> Path:
    wb.save(path)
    return path


def shift_names(wb: openpyxl.Workbook, sheet: str, *, row_at: int | None = None, col_at: int | None = None,
                n: int = 1) -> None:
    """Move defined names as Excel does when rows/columns are inserted (n > 0) or deleted."""
    for name, dn in list(wb.defined_names.items()):
        target = name_target(dn.attr_text or "")
        if target is None or target[0] != sheet:
            continue
        col, row = addr.split_ref(target[1])
        if row_at is not None and row >= row_at:
            row += n
        if col_at is not None and col >= col_at:
            col += n
        if row < 1 or col < 1:
            del wb.defined_names[name]
            continue
        wb.defined_names[name] = DefinedName(name, attr_text=addr.absolute(addr.make_ref(col, row), sheet))


def shift_merges(ws: Any, *, row_at: int | None = None, col_at: int | None = None, n: int = 1) -> None:
    for rng in list(ws.merged_cells.ranges):
        if (row_at is not None and rng.min_row >= row_at) or (col_at is not None and rng.min_col >= col_at):
            ws.merged_cells.remove(rng)
            rng.shift(row_shift=n if row_at is not None else 0, col_shift=n if col_at is not None else 0)
            ws.merged_cells.add(rng)


def insert_rows(wb: openpyxl.Workbook, sheet: str, row: int, n: int = 1, names: bool = True) -> None:
    """Insert rows as a clerk in Excel does (names and merges move with the cells)."""
    ws = wb[sheet]
    ws.insert_rows(row, n)
    shift_merges(ws, row_at=row, n=n)
    if names:
        shift_names(wb, sheet, row_at=row, n=n)


def insert_cols(wb: openpyxl.Workbook, sheet: str, col: int, n: int = 1, names: bool = True) -> None:
    ws = wb[sheet]
    ws.insert_cols(col, n)
    shift_merges(ws, col_at=col, n=n)
    if names:
        shift_names(wb, sheet, col_at=col, n=n)


def rewrite_zip(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """Copy a package, passing every member through ``change`` (None drops it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def sheet_part(path: Path, sheet: str) -> str:
    from gkreport.readers.ooxml import sheet_parts

    with zipfile.ZipFile(path) as zf:
        return sheet_parts(zf)[sheet]


# ------------------------------------------------------------------------------ comparing


def _norm(x: Any) -> Any:
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, dt.datetime | dt.date | dt.time | dt.timedelta):
        return ("date", str(x))
    return x


def _finding_key(f: Any) -> tuple:
    return (f.rule, f.severity, f.message, f.sheet, f.cells, f.cell_ids, f.suspects, f.expected, f.actual)


def _full(path: Path) -> Any:
    try:
        return read_any(path, mode="full")
    except ReadError as e:
        return e


def assert_equivalent(path: Path) -> str | None:
    """fast(path) == full(path), or the fast reader declined (its reason is returned)."""
    full = _full(path)
    try:
        reason = fast_decline_reason(path)
    except ReadError:
        assert isinstance(full, ReadError), "the fast reader refused a file the full reader reads"
        return "ReadError"
    if reason is not None:
        return reason
    from gkreport.readers.workbook import _read_fast

    with zipfile.ZipFile(path) as zf:
        fast = _read_fast(path, zf, None)
    assert not isinstance(fast, str)
    assert not isinstance(full, ReadError), f"full reader refused what the fast reader read: {full}"
    assert fast.form.version == full.form.version
    assert set(fast.values) == set(full.values)
    for cid, a in fast.values.items():
        b = full.values[cid]
        assert (a.state, _norm(a.raw), _norm(a.number), a.why, a.formula) == \
               (b.state, _norm(b.raw), _norm(b.number), b.why, b.formula), cid
    assert {k: _norm(v) for k, v in fast.header.items()} == {k: _norm(v) for k, v in full.header.items()}
    assert fast.sheet_names == full.sheet_names
    assert [_finding_key(f) for f in fast.read_findings] == [_finding_key(f) for f in full.read_findings]
    assert [_finding_key(f) for f in check(fast)] == [_finding_key(f) for f in check(full)]
    return None


# ------------------------------------------------------------------------------ the corpus


@pytest.mark.parametrize("version", FORMS)
def test_filled_templates_are_read_fast_and_the_same(tmp_path: Path, version: str) -> None:
    wb, _ = filled_book(version)
    path = save(wb, tmp_path / "a.xlsx")
    assert assert_equivalent(path) is None  # the common case stays on the fast path


@pytest.mark.parametrize(("version", "sheet", "cid"), [
    ("2021", "表一 主动公开", "t1.fee.amount"),
    ("2019", "表一 主动公开", None),
    ("2021", "表二 依申请公开", "t2.total.total"),
    ("2019", "表二 依申请公开", "t2.total.total"),
])
def test_row_inserted_near_the_end_is_not_lost(tmp_path: Path, version: str, sheet: str, cid: str | None) -> None:
    """The observed bug: a row inserted near the end kept most labels in place, so the fast
    reader read the official positions while the names moved with the data."""
    wb, values = filled_book(version)
    form = load_form(version)
    cells = [c for c in form.cells.values() if c.sheet == sheet]
    target = form.cells[cid] if cid else max(cells, key=lambda c: addr.split_ref(c.ref)[1])
    row = addr.split_ref(target.ref)[1]
    insert_rows(wb, sheet, row)
    path = save(wb, tmp_path / "inserted.xlsx")
    assert assert_equivalent(path) is not None
    fast = read_any(path, mode="fast")
    assert fast.values[target.id].number == values[target.id]
    for c in cells:
        assert fast.values[c.id].number == values[c.id], c.id


@pytest.mark.parametrize("version", FORMS)
def test_column_inserted_before_total_is_not_lost(tmp_path: Path, version: str) -> None:
    wb, values = filled_book(version)
    form = load_form(version)
    total_col = addr.split_ref(form.cells["t2.new.total"].ref)[0]
    insert_cols(wb, "表二 依申请公开", total_col)
    path = save(wb, tmp_path / "col.xlsx")
    assert assert_equivalent(path) is not None
    fast = read_any(path, mode="fast")
    for cid in ("t2.new.total", "t2.total.total", "t2.carried_out.total"):
        assert fast.values[cid].number == values[cid], cid


def test_consolidate_total_keeps_an_agency_whose_clerk_inserted_a_row(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    expected = 0.0
    for i in range(4):
        wb, values = filled_book("2021", seed=i)
        wb["基本信息"]["B4"] = f"某某县第{i}局"
        if i == 2:
            insert_rows(wb, "表一 主动公开", addr.split_ref(load_form("2021").cells["t1.fee.amount"].ref)[1])
        expected += values["t1.fee.amount"] or 0
        save(wb, folder / f"{i}.xlsx")
    result = consolidate([folder], jobs=1)
    assert len(result.included) == 4
    assert result.sums["t1.fee.amount"] == pytest.approx(expected)


def test_names_pointing_elsewhere_are_followed(tmp_path: Path) -> None:
    wb, _ = filled_book("2021")
    ws = wb["表二 依申请公开"]
    ws["M40"] = 777
    wb.defined_names["t2.new.person"] = DefinedName("t2.new.person", attr_text="'表二 依申请公开'!$M$40")
    path = save(wb, tmp_path / "moved.xlsx")
    assert "t2.new.person" in (assert_equivalent(path) or "")
    assert read_any(path, mode="fast").values["t2.new.person"].number == 777


@pytest.mark.parametrize("quote", ['"', "'"])
def test_stale_formula_result_in_a_data_cell_any_quoting(tmp_path: Path, quote: str) -> None:
    """A formula with a stale cached result, written with single-quoted attributes and
    t='str': the old scan only knew double quotes and took the stale 99."""
    wb, _ = filled_book("2021")
    path = save(wb, tmp_path / "a.xlsx")
    part = sheet_part(path, "表二 依申请公开")
    q = quote

    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        cell = re.compile(rb'<c r="D7"[^>]*?(/>|>.*?</c>)', re.S)
        new = (f"<c r={q}D7{q} t={q}str{q}><f>1+1</f><v>99</v></c>").encode()
        return cell.sub(new, data, count=1)

    out = rewrite_zip(path, tmp_path / "stale.xlsx", change)
    assert assert_equivalent(out) is not None
    v = read_any(out, mode="fast").values["t2.new.person"]
    assert v.number == 2 and v.formula == "=1+1"


def test_shared_formulas_in_data_cells_are_formulas_to_both_readers(tmp_path: Path) -> None:
    """Excel writes a filled-down formula as a shared one: the group's first cell carries the
    text, the others only <f t="shared" si=".."/>. Both cells are formulas (with stale cached
    results here): the fast reader declines, and the file is read with each formula recomputed."""
    wb, _ = filled_book("2021")
    path = save(wb, tmp_path / "a.xlsx")
    sheet = "表二 依申请公开"
    part = sheet_part(path, sheet)
    form = load_form("2021")
    ids = {c.ref: cid for cid, c in form.cells.items() if c.sheet == sheet}

    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        for ref, f in (("D7", b'<f t="shared" ref="D7:E7" si="5">1+1</f><v>99</v>'),
                       ("E7", b'<f t="shared" si="5"/><v>98</v>')):
            cell = re.compile(rb'<c r="' + ref.encode() + rb'"([^>]*?)(/>|>.*?</c>)', re.S)
            data = cell.sub(lambda m, ref=ref, f=f: b'<c r="%s"%s>%s</c>' % (
                ref.encode(), re.sub(rb'\st="[^"]*"', b"", m.group(1)), f), data, count=1)
        return data

    out = rewrite_zip(path, tmp_path / "shared.xlsx", change)
    assert assert_equivalent(out) is not None  # declined: formulas among the cells read
    values = read_any(out, mode="fast").values
    for ref in ("D7", "E7"):
        assert (values[ids[ref]].number, values[ids[ref]].formula) == (2, "=1+1"), ref


def test_prefixed_spreadsheetml_is_understood(tmp_path: Path) -> None:
    """<x:c>, <x:f> as some SDKs write them: a formula there is seen (or the file declined)."""
    wb, _ = filled_book("2021")
    wb["表二 依申请公开"]["D7"] = "=1+2"
    path = save(wb, tmp_path / "a.xlsx")
    part = sheet_part(path, "表二 依申请公开")

    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        data = re.sub(rb"<(/?)(?!\?)([A-Za-z])", rb"<\1x:\2", data)
        return data.replace(b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
                            b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"', 1)

    out = rewrite_zip(path, tmp_path / "prefixed.xlsx", change)
    assert_equivalent(out)
    assert read_any(out, mode="fast").values["t2.new.person"].number == 3


def test_merge_over_data_cells(tmp_path: Path) -> None:
    """A merge over D7:E7 whose covered cell still holds a number in the XML: openpyxl
    shows it empty; the fast reader must agree (python-calamine would show the number)."""
    wb, values = filled_book("2021")
    path = save(wb, tmp_path / "a.xlsx")
    part = sheet_part(path, "表二 依申请公开")

    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        return re.sub(rb"<mergeCells count=\"(\d+)\">",
                      lambda m: b'<mergeCells count="%d"><mergeCell ref="D7:E7"/>' % (int(m[1]) + 1), data, count=1)

    out = rewrite_zip(path, tmp_path / "merged.xlsx", change)
    assert_equivalent(out)
    fast, full = read_any(out, mode="fast"), read_any(out, mode="full")
    assert fast.values["t2.new.company"].is_blank and full.values["t2.new.company"].is_blank
    assert fast.values["t2.new.person"].number == values["t2.new.person"]


def to_strict(src: Path, dst: Path) -> Path:
    from gkreport.readers.ooxml import STRICT_TO_TRANSITIONAL

    def change(name: str, data: bytes) -> bytes:
        if name.endswith((".xml", ".rels")):
            for strict, transitional in STRICT_TO_TRANSITIONAL:
                data = data.replace(transitional, strict)
            if name == "xl/workbook.xml":
                data = data.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
        return data

    return rewrite_zip(src, dst, change)


def test_iso_strict_workbook_is_read_right_by_both(tmp_path: Path) -> None:
    wb, values = filled_book("2021")
    path = to_strict(save(wb, tmp_path / "a.xlsx"), tmp_path / "strict.xlsx")
    assert "Strict" in (assert_equivalent(path) or "")
    for mode in ("fast", "full"):
        report = read_any(path, mode=mode)
        assert report.agency == "某某县测试局"
        for cid, v in values.items():
            assert report.values[cid].number == (v if v is not None else None), (mode, cid)


@pytest.mark.parametrize("damage", ["garbage-after-sheetdata", "truncated", "extra-sheet", "bad-entity"])
def test_malformed_sheet_part_is_refused_by_both(tmp_path: Path, damage: str) -> None:
    wb, _ = filled_book("2021")
    if damage == "extra-sheet":
        wb.create_sheet("备注")["A1"] = "说明"
    path = save(wb, tmp_path / "a.xlsx")
    part = sheet_part(path, "备注" if damage == "extra-sheet" else "表二 依申请公开")

    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        if damage == "truncated":
            return data[: data.index(b"</sheetData>") + len(b"</sheetData>")]
        if damage == "bad-entity":
            return data.replace(b"</sheetData>", b"</sheetData>&nbsp;", 1)
        return data.replace(b"</sheetData>", b"</sheetData><oops>", 1)

    out = rewrite_zip(path, tmp_path / "bad.xlsx", change)
    assert assert_equivalent(out) is not None
    with pytest.raises(ReadError):
        read_any(out, mode="full")
    with pytest.raises(ReadError):
        read_any(out, mode="fast")


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    """"=1+1" typed as text (stored as a string) is not a number 2: both say which cell."""
    wb, _ = filled_book("2021")
    cell = wb["表二 依申请公开"]["D7"]
    cell.value = "=1+1"
    cell.data_type = "s"
    path = save(wb, tmp_path / "text.xlsx")
    assert_equivalent(path)
    for mode in ("fast", "full"):
        report = read_any(path, mode=mode)
        v = report.values["t2.new.person"]
        assert v.state == "invalid" and v.number is None and v.formula is None
        found = [f for f in check(report) if f.rule == "value-type" and "=1+1" in f.message]
        assert found and found[0].sheet == "表二 依申请公开"


def test_a_template_saved_by_an_office_suite_with_shared_strings_and_extra_parts(tmp_path: Path) -> None:
    """The usual file in a county's folder: a template re-saved by an office suite (shared
    strings, cells in another attribute order, extra package parts). Read fast and right."""
    wb, values = filled_book("2021")
    (tmp_path / "src").mkdir()
    src = save(wb, tmp_path / "src" / "a.xlsx")
    out = lo_convert(src, "xlsx", tmp_path / "lo")

    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("customXml/item1.xml", b'<?xml version="1.0"?><b:Sources xmlns:b="urn:x"/>')
        zf.writestr("xl/printerSettings/printerSettings1.bin", b"\x00\x01")
    assert assert_equivalent(out) is None
    report = read_any(out, mode="fast")
    for cid, v in values.items():
        assert report.values[cid].number == v, cid


def test_workbook_without_names_and_a_moved_row_names_the_cells(tmp_path: Path) -> None:
    """No names to follow and a row inserted: the full reader cannot know where the moved
    numbers belong, so it says so at the cells instead of reading the wrong ones."""
    wb, _ = filled_book("2021")
    for name in list(wb.defined_names):
        del wb.defined_names[name]
    insert_rows(wb, "表一 主动公开", addr.split_ref(load_form("2021").cells["t1.fee.amount"].ref)[1], names=False)
    path = save(wb, tmp_path / "nonames.xlsx")
    assert assert_equivalent(path) is not None
    report = read_any(path, mode="fast")
    v = report.values["t1.fee.amount"]
    assert v.state == "unreadable" and "插入或删除" in v.why
    assert any("t1.fee.amount" in f.cell_ids for f in check(report) if f.severity == "error")


# ------------------------------------------------------------------------------ hypothesis


@st.composite
def mutations(draw: Any) -> list[tuple]:
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        # Value-level changes (which the fast reader should read itself) twice as often
        # as structural ones (which it should mostly leave to the full reader).
        kind = draw(st.sampled_from([
            "insert_rows", "delete_rows", "insert_cols", "move_name", "rename_name", "drop_name", "formula",
            *(["text", "merge", "value", "date", "bool", "big", "blank"] * 2),
        ]))
        ops.append((kind, draw(st.integers(0, 10**6)), draw(st.booleans())))
    return ops


TEXTS = ["5件", "/", "—", "１２", "1,234", "=1+1", "abc", " 7 ", "", "75394432.52元", "x005F_1", "-3"]


def apply(wb: openpyxl.Workbook, form: Form, op: tuple) -> None:
    kind, n, flag = op
    rng = random.Random(n)
    cells = sorted(form.cells.values(), key=lambda c: c.id)
    cell = rng.choice(cells)
    ws = wb[cell.sheet]
    col, row = addr.split_ref(cell.ref)
    if kind == "insert_rows":
        insert_rows(wb, cell.sheet, row + rng.randint(-1, 1), rng.randint(1, 2), names=flag)
    elif kind == "delete_rows":
        ws.delete_rows(row, 1)
        shift_merges(ws, row_at=row + 1, n=-1)
        if flag:
            shift_names(wb, cell.sheet, row_at=row + 1, n=-1)
    elif kind == "insert_cols":
        insert_cols(wb, cell.sheet, col + rng.randint(-1, 1), 1, names=flag)
    elif kind == "move_name":
        ref = addr.make_ref(col + rng.randint(-1, 1), row + rng.randint(-1, 2))
        wb.defined_names[cell.id] = DefinedName(cell.id, attr_text=addr.absolute(ref, cell.sheet))
    elif kind == "rename_name" and cell.id in wb.defined_names:
        dn = wb.defined_names[cell.id]
        del wb.defined_names[cell.id]
        wb.defined_names["x" + cell.id] = DefinedName("x" + cell.id, attr_text=dn.attr_text)
    elif kind == "drop_name" and cell.id in wb.defined_names:
        del wb.defined_names[cell.id]
    elif kind == "formula":
        other = rng.choice(cells)
        ws[cell.ref] = rng.choice(["=1+1", f"=SUM({other.ref})", "=A1/0", "=" + other.ref + "*2"])
    elif kind == "text":
        ws[cell.ref].value = rng.choice(TEXTS)
        ws[cell.ref].data_type = "s"
    elif kind == "merge":
        with contextlib.suppress(Exception):  # openpyxl refuses some overlapping ranges itself
            ws.merge_cells(addr.make_range(col, row, col + rng.randint(0, 1), row + rng.randint(0, 1)))
    elif kind == "value":
        ws[cell.ref] = rng.choice([0, 1, 3.5, -2, 10**13, 123456, 0.1 + 0.2])
    elif kind == "date":
        ws[cell.ref] = dt.datetime(2024, 1, rng.randint(1, 28))
    elif kind == "bool":
        ws[cell.ref] = flag
    elif kind == "big":
        ws[cell.ref] = 1e300
    elif kind == "blank":
        ws[cell.ref] = None


XML_CHANGES = ["none", "none", "none", "single-quotes", "single-quotes", "prefix", "prefix",
               "strict", "truncate", "stale-str", "rows-without-r"]


def xml_change(kind: str, part: str) -> Callable[[str, bytes], bytes]:
    def change(name: str, data: bytes) -> bytes:
        if kind == "strict" and name.endswith((".xml", ".rels")):
            from gkreport.readers.ooxml import STRICT_TO_TRANSITIONAL

            for strict, transitional in STRICT_TO_TRANSITIONAL:
                data = data.replace(transitional, strict)
            return data
        if name != part:
            return data
        if kind == "single-quotes":
            return re.sub(rb'(<c [^>]*?)r="([A-Z]+[0-9]+)"', rb"\1r='\2'", data)
        if kind == "truncate":
            return data[: len(data) * 2 // 3]
        if kind == "prefix":
            data = re.sub(rb"<(/?)(?!\?)([A-Za-z])", rb"<\1x:\2", data)
            return data.replace(b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
                                b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"', 1)
        if kind == "stale-str":
            return re.sub(rb"<c r='?\"?D8\"?'?[^>]*?(/>|>.*?</c>)", b"<c r='D8' t='str'><f>2*3</f><v>1</v></c>",
                          data, count=1, flags=re.S)
        if kind == "rows-without-r":
            return re.sub(rb'<c r="[A-Z]+[0-9]+"', b"<c", data, count=3)
        return data
    return change


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
@given(version=st.sampled_from(FORMS), ops=mutations(), xml=st.sampled_from(XML_CHANGES),
       seed=st.integers(0, 1000))
def test_fast_equals_full_or_declines(tmp_path: Path, version: str, ops: list[tuple], xml: str, seed: int) -> None:
    form = load_form(version)
    wb, _ = filled_book(version, seed)
    for op in ops:
        apply(wb, form, op)
    path = save(wb, tmp_path / f"m{seed}.xlsx")
    if xml != "none":
        part = sheet_part(path, "表二 依申请公开")
        path = rewrite_zip(path, tmp_path / f"x{seed}.xlsx", xml_change(xml, part))
    reason = assert_equivalent(path)
    if os.environ.get("GK_EQUIV_TALLY"):  # a long local run records how often the fast path was taken
        with open(os.environ["GK_EQUIV_TALLY"], "a", encoding="utf-8") as fh:
            fh.write(f"{[o[0] for o in ops]}\t{xml}\t{reason or 'FAST'}\n")
