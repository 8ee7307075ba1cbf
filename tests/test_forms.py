"""The form definitions: schema, consistency checks, cell counts, label paths, describe."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from gkreport.core.describe import describe
from gkreport.core.forms import FormError, available_forms, form_for_year, load_form, parse_form, rules_dir


def _doc(version: str) -> dict:
    return json.loads((rules_dir() / f"form-{version}.json").read_text(encoding="utf-8"))


def test_both_forms_are_available_and_cover_years() -> None:
    assert available_forms() == ("2019", "2021")
    assert form_for_year(2019).version == "2019"
    assert form_for_year(2020).version == "2019"
    assert form_for_year(2021).version == "2021"
    assert form_for_year(2030).version == "2021"
    assert form_for_year(2018) is None


@pytest.mark.parametrize(("version", "t1", "t2_rows", "t3"), [("2019", 22, 23, 15), ("2021", 10, 25, 15)])
def test_cell_counts_match_forms_md(version: str, t1: int, t2_rows: int, t3: int) -> None:
    form = load_form(version)
    assert len(form.table("t1").cell_ids) == t1
    t2 = form.table_cells("t2")
    assert len(t2) == t2_rows * 7
    assert len({c.row_key for c in t2}) == t2_rows
    assert len({c.col_key for c in t2}) == 7
    assert len(form.table("t3").cell_ids) == t3


def test_label_paths_are_official_parent_first() -> None:
    f = load_form("2021")
    c = f.cells["t2.deny_secret.company"]
    assert c.row_label == "三、本年度办理结果 / （三）不予公开 / 1.属于国家秘密"
    assert c.col_label == "申请人情况 / 法人或其他组织 / 商业企业"
    assert f.cells["t3.suit_after.total"].col_label == "行政诉讼 / 复议后起诉 / 总计"
    assert f.cells["t1.fee.amount"].unit == "万元"
    assert f.cells["t1.fee.amount"].type == "amount"
    old = load_form("2019")
    assert old.cells["t1.license.change"].type == "signed"
    assert old.cells["t2.other.person"].row_label == "三、本年度办理结果 / （六）其他处理"
    assert "t2.other_misc.person" in f.cells and "t2.other.person" not in f.cells


def test_totals_are_marked_total() -> None:
    f = load_form("2021")
    kinds = {cid: c.kind for cid, c in f.cells.items()}
    assert kinds["t2.new.total"] == "total"
    assert kinds["t2.total.person"] == "total"
    assert kinds["t3.review.total"] == "total"
    assert kinds["t2.granted.person"] == "input"
    assert sum(1 for k in kinds.values() if k == "total") == 25 + 6 + 3


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_official_merges_follow_layout_md(version: str) -> None:
    """The official form's merges (relative to each table's top-left, transcribed below) are reproduced."""
    f = load_form(version)
    from gkreport.core import addresses as addr

    def rel(table, rng: str) -> str:
        return addr.offset_range(rng, -(table.first_row - 1), -(table.first_col - 1))

    merges = {}
    for t in f.tables:
        ranges = {rel(t, lab.range) for lab in t.labels if ":" in lab.range}
        ranges |= {rel(t, f.cells[c].range) for c in t.cell_ids if ":" in f.cells[c].range}
        merges[t.id] = ranges
    expected_t1 = {
        "2019": {"A1:D1", "A5:D5", "A9:D9", "A13:D13", "C14:D14", "C15:D15", "A16:D16", "C17:D17", "C18:D18"},
        "2021": {"A1:D1", "A5:D5", "B6:D6", "B7:D7", "A8:D8", "B9:D9", "B10:D10", "B11:D11", "A12:D12",
                 "B13:D13", "B14:D14"},
    }[version]
    common = {"A1:C3", "D1:J1", "D2:D3", "E2:I2", "J2:J3", "A4:C4", "A5:C5", "B6:C6", "B7:C7", "B8:B15",
              "B16:B18", "B19:B23"}
    expected_t2 = common | ({"A6:A25", "B24:C24", "B25:C25", "A26:C26"} if version == "2019"
                           else {"A6:A27", "B24:B26", "B27:C27", "A28:C28"})
    expected_t3 = {"A1:E1", "F1:O1", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "F2:J2", "K2:O2"}
    assert merges == {"t1": expected_t1, "t2": expected_t2, "t3": expected_t3}


def test_describe_lists_header_and_every_cell() -> None:
    for v in ("2019", "2021"):
        f = load_form(v)
        recs = describe(f)
        headers = [r for r in recs if r["kind"] == "header"]
        assert [r["row"] for r in headers] == ["填报单位", "所属地区", "报告年度", "表式版本", "填报人", "联系电话", "填报日期"]
        cells = [r for r in recs if r["kind"] != "header"]
        assert len(cells) == len(f.cells)
        assert len({r["id"] for r in recs}) == len(recs)
        assert set(recs[0]) == {"id", "sheet", "cell", "table", "row", "column", "type", "kind"}


def test_describe_cli_json_equals_api() -> None:
    out = subprocess.run([sys.executable, "-m", "gkreport.commands.cli", "describe", "--form", "2019", "--json"],
                         check=True, capture_output=True, text=True, encoding="utf-8").stdout
    assert json.loads(out) == describe(load_form("2019"))


def test_schema_rejects_malformed_rule() -> None:
    doc = _doc("2021")
    bad = copy.deepcopy(doc)
    del bad["rules"][0]["severity"]
    with pytest.raises(FormError, match="severity"):
        parse_form(bad)
    bad = copy.deepcopy(doc)
    bad["rules"][0]["severity"] = "fatal"
    with pytest.raises(FormError):
        parse_form(bad)


def test_consistency_rejects_unknown_cell_and_set() -> None:
    doc = _doc("2021")
    bad = copy.deepcopy(doc)
    bad["rules"][0]["left"] = ["t2.nosuchrow.{col}"]
    with pytest.raises(FormError, match=r"T2-balance.*t2\.nosuchrow\.person"):
        parse_form(bad)
    bad = copy.deepcopy(doc)
    bad["rules"][1]["for_each"] = {"col": "@nosuchset"}
    with pytest.raises(FormError, match="nosuchset"):
        parse_form(bad)
    bad = copy.deepcopy(doc)
    bad["tables"][1]["blocks"][0]["rows"][0]["row"] = 2  # onto the header labels
    with pytest.raises(FormError, match="重叠"):
        parse_form(bad)


def test_rules_have_ids_severities_and_messages() -> None:
    for v in ("2019", "2021"):
        f = load_form(v)
        ids = {r.id for r in f.rules}
        for rid in ("T2-balance", "T2-result-total", "T2-row-total", "T3-group-total", "value-type", "value-format",
                    "blank-as-zero", "not-applicable", "blank-total", "form-version", "carry-over", "outlier",
                    "narrative-vs-table"):
            assert rid in ids, (v, rid)
        assert ("T1-items-nonnegative" in ids) == (v == "2019")
        assert ("T1-in-force" in ids) == (v == "2021")
        assert f.rule("T2-row-total").severity == "error"
        assert f.rule("blank-as-zero").severity == "info"
        assert f.rule("not-applicable").severity == "warning"
