"""Behaviours of the ``compare`` and ``header`` rules and of finding fingerprints that mutation
testing showed no test pinned (issue 14): each test names the behaviour it holds in place.

Reports are real workbooks built here from the packaged template (openpyxl), checked through
the public API as ``gkreport check`` does, or built as a Report where only the engine is meant.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REAL_REPORTS, make_filled
from gkreport import api
from gkreport.core.engine import check
from gkreport.core.findings import Finding, fingerprint
from gkreport.core.forms import load_form
from gkreport.core.report import Report, report_from_raw

T1_RULE = "T1-items-nonnegative"
SHEET_T1 = "表一 主动公开"


def _xiuzhou(**changes: object) -> tuple[dict, dict]:
    """洪合镇 2020 (2019 form, correct): 行政许可 4633 items last year, −233 this year."""
    _, header, values = REAL_REPORTS["xiuzhou-honghe-2020"]()
    return {**values, **changes}, header


def _of(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


# ------------------------------------------------------------------ compare: T1-items-nonnegative


def test_compare_rule_reports_each_negative_item_row_with_its_cells_message_and_severity(tmp_path: Path) -> None:
    """Pins the whole ``compare`` finding (not just its presence): one per violating row of 表一,
    error, on sheet 表一 at B/C of that row, ``actual`` the sum and ``expected`` 0, the row's label
    in the message, both cells suspects, no suggestion (either cell may be the wrong one)."""
    values, header = _xiuzhou(**{"t1.license.change": -5000, "t1.fee.prev_items": 0, "t1.fee.change": -1})
    path = make_filled(tmp_path, "negative.xlsx", "2019", values, header)
    found = _of(api.check(path), T1_RULE)
    assert [(f.cells, f.cell_ids) for f in found] == [
        (("B10", "C10"), ("t1.license.prev_items", "t1.license.change")),
        (("B18", "C18"), ("t1.fee.prev_items", "t1.fee.change")),
    ]
    lic, fee = found
    for f, total in ((lic, -367), (fee, -1)):
        assert f.severity == "error"
        assert f.sheet == SHEET_T1
        assert f.actual == total and f.expected == 0
        assert f.suggested is None
        assert f.suspects == f.cells and f.suspect_ids == f.cell_ids
    assert lic.message.startswith("行政许可：上一年项目数量＋本年增/减＝-367，本年项目数不能为负")
    assert fee.message.startswith("行政事业性收费：上一年项目数量＋本年增/减＝-1，本年项目数不能为负")
    assert lic.instance == f"{T1_RULE}:row=license" and fee.instance == f"{T1_RULE}:row=fee"
    assert lic.id != fee.id


def test_compare_rule_says_both_cells_are_equally_likely_and_suggests_nothing() -> None:
    """A negative item count is explained equally well by 上一年项目数量 or 本年增/减 being wrong,
    and neither value follows from the table: the message lists both explanations as undetermined."""
    values, header = _xiuzhou(**{"t1.license.change": -5000})
    (f,) = _of(check(report_from_raw(load_form("2019"), values, header)), T1_RULE)
    assert "无法确定是哪个单元格填错：有 2 种同样简单的解释" in f.message
    assert "表一 B10（行政许可·上一年项目数量）填错（数值无法确定）" in f.message
    assert "表一 C10（行政许可·本年增/减）填错（数值无法确定）" in f.message
    assert f.message.endswith("；请逐项核对")


@pytest.mark.parametrize(("change", "violated"), [(-4633, False), (-4634, True), (0, False), (5, False)])
def test_compare_rule_boundary_is_inclusive(change: int, violated: bool) -> None:
    """``>=``, not ``>``: 4633 − 4633 = 0 items is allowed, 4633 − 4634 = −1 is not."""
    values, header = _xiuzhou(**{"t1.license.change": change})
    findings = check(report_from_raw(load_form("2019"), values, header))
    found = _of(findings, T1_RULE)
    assert [f.actual for f in found] == ([4633 + change] if violated else [])
    assert [f for f in findings if f.severity == "error"] == found


def test_compare_rule_satisfied_report_is_clean_through_a_file(tmp_path: Path) -> None:
    """The real report as a workbook: negative 本年增/减 (−233, −139, −1657) with enough items
    last year is no finding at all (the signed cells are read as negative numbers)."""
    values, header = _xiuzhou()
    path = make_filled(tmp_path, "ok.xlsx", "2019", values, header)
    report = api.read(path)
    assert report.value("t1.coercion.change").number == -1657
    findings = api.check(report)
    assert {f.severity for f in findings} == {"info"}


# ------------------------------------------------------------------ header


def _required(version: str) -> list:
    return [f for f in load_form(version).header if f.required]


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_required_header_fields_are_agency_and_year(version: str) -> None:
    """The header rule checks the fields the form marks ``required`` — today 填报单位 and 报告年度
    (in B4/B6 of 基本信息); the others (地区, 填报人, 电话, 日期) may stay empty."""
    assert [(f.id, f.cell, f.sheet) for f in _required(version)] == [
        ("hdr.agency", "B4", "基本信息"), ("hdr.year", "B6", "基本信息")]


@pytest.mark.parametrize("version", ["2019", "2021"])
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_each_required_header_field_missing_is_its_own_finding(version: str, empty: object) -> None:
    """Every required field, one at a time: left empty (None, "" or only spaces) it gives exactly
    one ``header-missing`` warning at its own sheet/cell/id, named by its label, with the
    fingerprint of (rule, field, report); the other field alone gives nothing."""
    year = 2020 if version == "2019" else 2023
    full = {"hdr.agency": "某某县人民政府办公室", "hdr.year": year, "hdr.region": "某某县"}
    for field in _required(version):
        report = report_from_raw(load_form(version), {}, {**full, field.id: empty})
        found = _of(check(report), "header-missing")
        assert len(found) == 1, (field.id, [f.message for f in found])
        (f,) = found
        assert f.severity == "warning"
        assert f.message == f"{field.label}未填写或无法识别"
        assert (f.sheet, f.cells, f.cell_ids) == (field.sheet, (field.cell,), (field.id,))
        assert (f.suspects, f.suspect_ids) == ((field.cell,), (field.id,))
        assert f.id == fingerprint("header-missing", [field.id], report.key)
    assert _of(check(report_from_raw(load_form(version), {}, {"hdr.agency": "甲", "hdr.year": year})),
               "header-missing") == []


@pytest.mark.parametrize(("typed", "reported"), [
    ("二〇二〇", True), ("去年", True), ("2020年", False), ("2020年度", False), (" 2020 ", False), (2020.0, False),
])
def test_a_year_that_is_not_a_number_is_reported_with_what_was_typed(typed: object, reported: bool) -> None:
    """The year branch: a filled 报告年度 that does not read as a year is "missing" and the message
    quotes it; "2020年"/"2020年度"/a float year read as 2020 and are fine."""
    report = report_from_raw(load_form("2019"), {}, {"hdr.agency": "甲", "hdr.year": typed})
    found = _of(check(report), "header-missing")
    if not reported:
        assert found == [] and report.year == 2020
        return
    (f,) = found
    assert f.message == f"报告年度未填写或无法识别（填写的是“{typed}”，应为四位年份）"
    assert f.cell_ids == ("hdr.year",) and f.cells == ("B6",)


def test_only_the_year_field_gets_the_year_explanation() -> None:
    """A filled text field is never judged as a year: an agency named "二〇二〇" is fine when the
    year is valid, and the year's explanation is not attached to a missing agency."""
    report = report_from_raw(load_form("2021"), {}, {"hdr.agency": "二〇二〇", "hdr.year": 2023})
    assert _of(check(report), "header-missing") == []
    report = report_from_raw(load_form("2021"), {}, {"hdr.agency": None, "hdr.year": "二〇二三"})
    assert [f.message for f in _of(check(report), "header-missing")] == [
        "填报单位未填写或无法识别", "报告年度未填写或无法识别（填写的是“二〇二三”，应为四位年份）"]


def test_header_findings_come_from_the_workbook_cells(tmp_path: Path) -> None:
    """End to end: a workbook with 填报单位 empty and 报告年度 typed in Chinese numerals gives the
    two warnings at 基本信息!B4 and B6, and no form-version error (the year is unknown, not wrong)."""
    values, _ = _xiuzhou()
    path = make_filled(tmp_path, "header.xlsx", "2019", values, {"hdr.year": "二〇二〇"})
    findings = api.check(path)
    assert [(f.rule, f.sheet, f.cells) for f in findings if f.severity != "info"] == [
        ("header-missing", "基本信息", ("B4",)), ("header-missing", "基本信息", ("B6",))]


# ------------------------------------------------------------------ fingerprints


def _broken_everywhere() -> tuple[Report, Report]:
    """A 2021 report failing many rules at once (cell contents, identities, a blank total, a
    blank-total column, header, carry-over, in-force, outlier) and last year's report."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    changes = {
        "t2.deny_law.person": "abc", "t2.granted.company": "5件", "t2.other_misc.legal": "/",
        "t2.granted.person": 31, "t2.deny_secret.total": 7, "t2.new.total": None,
        "t3.review.total": 9, "t1.rules.issued": 2.5, "t1.fee.amount": "3件",
    }
    assert set(changes) <= set(load_form("2021").cells)
    this = report_from_raw(load_form("2021"), {**values, **changes}, {**header, "hdr.agency": None})
    prev = report_from_raw(load_form("2021"), {**values, "t2.carried_out.person": 4, "t2.carried_out.total": 4,
                                                "t1.normative.in_force": 900, "t1.license.decisions": 9},
                           {**header, "hdr.year": 2022})
    return this, prev


def test_every_finding_of_a_report_has_its_own_stable_fingerprint() -> None:
    """Within one report no two findings share an id (a person's decision on one must never
    apply to another), and every id is the fingerprint of (rule, cells, report, instance)."""
    this, prev = _broken_everywhere()
    findings = check(this, previous=prev)
    rules = {f.rule for f in findings}
    assert {"value-type", "value-format", "not-applicable", "T2-row-total", "T2-result-total", "blank-total",
            "T3-group-total", "header-missing", "carry-over", "T1-in-force", "outlier"} <= rules
    ids = [f.id for f in findings]
    assert len(set(ids)) == len(ids)
    assert all(f.id == fingerprint(f.rule, f.cell_ids, this.key, f.instance) for f in findings
               if f.rule != "header-missing")
    assert [f.id for f in check(this, previous=prev)] == ids


def test_fingerprints_differ_between_form_versions_of_one_agency_year() -> None:
    """The report key includes the form version: the same agency and year on the other form
    (a resubmission on the right form) gets new ids."""
    _, header, values = REAL_REPORTS["xiuzhou-honghe-2020"]()
    header = {**header, "hdr.year": 2021}
    old = check(report_from_raw(load_form("2019"), values, header))
    new = check(report_from_raw(load_form("2021"), {}, header))
    assert {f.id for f in old}.isdisjoint({f.id for f in new})


_CELLS = sorted(load_form("2021").cells)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_CELLS), st.sampled_from([None, 0, 3, 17, "x", "2件", "/", -1, 1.5]),
                       min_size=1, max_size=6))
def test_fingerprints_are_unique_for_any_corruption(changes: dict[str, object]) -> None:
    """Invariant over random corruptions of a correct report: the findings' ids are distinct."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    ids = [f.id for f in check(report_from_raw(load_form("2021"), {**values, **changes}, header))]
    assert len(set(ids)) == len(ids)


# ------------------------------------------------------------------ compare rules from a rules overlay

LE_NEW = {"id": "SX-granted-le-new", "severity": "warning", "type": "compare", "title": "予以公开不超过新收",
          "description": "省级补充规则（测试）", "left": ["t2.granted.person"], "op": "<=", "right": ["t2.new.person"],
          "message": "予以公开 {left} 超过新收 {right}，相差 {diff}"}
FEE_CAP = {"id": "SX-fee-cap", "severity": "info", "type": "compare", "title": "收费金额上限",
           "description": "省级补充规则（测试）", "left": ["t1.fee.amount"], "op": "<=", "right": [5000],
           "message": "收费金额 {left} 万元超过 {right} 万元"}


@pytest.fixture
def compare_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two analyst-written ``compare`` rules for the 2021 form, in a rules overlay."""
    from gkreport.core import forms
    from gkreport.core.overlay import RULES_ENV

    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "overlay-2021.json").write_text(json.dumps({"form": "2021", "add": [LE_NEW, FEE_CAP]},
                                                         ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("GKREPORT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(RULES_ENV, str(folder))
    forms.reset()
    yield
    monkeypatch.delenv(RULES_ENV)
    forms.reset()


def test_a_compare_rule_renders_left_right_and_diff_and_takes_the_located_fix(compare_overlay: None) -> None:
    """A compare rule's message may use {left}, {right} and {diff} (|left − right|); when the
    identities together determine the wrong cell (D9 = 90 breaks its row, its column and this
    rule; only 22 repairs all three) the compare finding names it and suggests 22 too."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    report = report_from_raw(load_form("2021"), {**values, "t2.granted.person": 90}, header)
    (f,) = _of(check(report), "SX-granted-le-new")
    assert f.message == ("予以公开 90 超过新收 80，相差 10。最可能填错的是 表二 D9（（一）予以公开·自然人）"
                         "（现为 90，应为 22），建议改为 22")
    assert (f.severity, f.actual, f.expected, f.suggested, f.suspect_ids) == ("warning", 90, 80, 22,
                                                                             ("t2.granted.person",))
    assert f.cell_ids == ("t2.granted.person", "t2.new.person") and f.origin.endswith("overlay-2021.json")


def test_a_compare_rule_on_one_cell_names_it_without_inventing_a_value(compare_overlay: None) -> None:
    """收费金额 5949.09 万元 over a cap of 5000: the only explanation is that cell, but an
    inequality does not say what it should be: no suggestion, and the message says so."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    (f,) = _of(check(report_from_raw(load_form("2021"), values, header)), "SX-fee-cap")
    assert f.message == ("收费金额 5949.088667 万元超过 5000 万元。最可能填错的是 表一 B17（行政事业性收费·本年收费金额），"
                         "但其正确数值无法由表内关系确定，请核对")
    assert (f.severity, f.suggested, f.suspect_ids, f.cells) == ("info", None, ("t1.fee.amount",), ("B17",))
