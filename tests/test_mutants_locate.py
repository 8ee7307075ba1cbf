"""What the localisation says and suggests (issue 14's surviving mutants in engine.py/locate.py):
a value is suggested only when one cell and its value are determined ("唯一确定"); with several
equally good explanations every one is listed and nothing is suggested.

The messages are asserted in full where the wording carries the verdict, so that a change in
which cell is blamed, its shown value (空白 vs 0) or the advice fails a test.
"""

from __future__ import annotations

from conftest import REAL_REPORTS
from gkreport.core.engine import check
from gkreport.core.findings import Finding
from gkreport.core.forms import load_form
from gkreport.core.report import report_from_raw

# 平潭 2023 (2021 form, correct): 表二 （一）予以公开 自然人 22 of 80 results; 表三 复议 1 + 1 = 2.


def _check(**changes: object) -> list[Finding]:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    return [f for f in check(report_from_raw(load_form("2021"), {**values, **changes}, header))
            if f.severity != "info"]


def _by_rule(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.rule, []).append(f)
    return out


def test_one_wrong_cell_is_determined_and_its_value_suggested() -> None:
    """D9 typed 31 instead of 22 breaks its column and its row: both findings name D9 alone,
    suggest 22 and say so ("最可能填错的是 … 建议改为 22"); totals and parts are not blamed."""
    found = _by_rule(_check(**{"t2.granted.person": 31}))
    assert sorted(found) == ["T2-result-total", "T2-row-total"]
    (col,), (row,) = found["T2-result-total"], found["T2-row-total"]
    tail = "。最可能填错的是 表二 D9（（一）予以公开·自然人）（现为 31，应为 22），建议改为 22"
    assert col.message == "表二 D30（（七）总计·自然人） 应为 89（各项办理结果之和），实为 80，相差 9" + tail
    assert row.message == "表二 J9（（一）予以公开·总计） 应为 31（自然人与各类法人或其他组织之和），实为 22，相差 9" + tail
    for f in (col, row):
        assert (f.suspect_ids, f.suspects, f.suggested) == (("t2.granted.person",), ("D9",), 22)
    assert (col.expected, col.actual, row.expected, row.actual) == (89, 80, 31, 22)


def test_a_blank_wrong_cell_is_shown_as_blank_and_still_suggested() -> None:
    """The same cell left blank: "现为空白" (never "现为 0"), suggestion 22."""
    found = _check(**{"t2.granted.person": None})
    assert {f.suggested for f in found} == {22}
    assert all(f.message.endswith("（现为空白，应为 22），建议改为 22") for f in found)
    assert all(f.suspect_ids == ("t2.granted.person",) for f in found)


def test_two_determined_cells_in_one_identity_are_both_named_and_no_single_value_suggested() -> None:
    """D9 = 30 and E9 = 1 (instead of 22 and 0): the row identity needs both changed, so its
    finding lists both fixes ("建议按此改正") and suggests no single value; each column's
    finding names its own cell and value."""
    found = _by_rule(_check(**{"t2.granted.person": 30, "t2.granted.company": 1}))
    (row,) = found["T2-row-total"]
    assert row.suspect_ids == ("t2.granted.person", "t2.granted.company") and row.suggested is None
    assert row.message.endswith("。最可能填错的是 表二 D9（（一）予以公开·自然人）（现为 30，应为 22）、"
                                "表二 E9（（一）予以公开·商业企业）（现为 1，应为 0），建议按此改正")
    cols = {f.suspect_ids: f.suggested for f in found["T2-result-total"]}
    assert cols == {("t2.granted.person",): 22, ("t2.granted.company",): 0}


def test_several_equally_good_explanations_are_all_listed_and_nothing_suggested() -> None:
    """表三 复议·总计 9 with parts 1 + 1: the total or any one part may be wrong (5 explanations
    of one change each); all five are listed with their values, all five cells are suspects."""
    (f,) = _check(**{"t3.review.total": 9})
    assert f.rule == "T3-group-total" and f.suggested is None
    assert f.suspect_ids == ("t3.review.total", "t3.review.upheld", "t3.review.corrected", "t3.review.other",
                             "t3.review.pending")
    assert f.message == (
        "表三 E7（行政复议·总计） 应为 2（结果维持＋结果纠正＋其他结果＋尚未审结），实为 9，相差 7。"
        "无法确定是总计 E7 填错还是其组成部分填错：有 5 种同样简单的解释，可能是 表三 E7（行政复议·总计）应为 2；"
        "或 表三 A7（行政复议·结果维持）应为 8；或 表三 B7（行政复议·结果纠正）应为 8；"
        "或 表三 C7（行政复议·其他结果）应为 7；或 表三 D7（行政复议·尚未审结）应为 7；请逐项核对")


def test_a_blank_total_beside_a_wrong_part_gets_no_suggestion_of_its_own() -> None:
    """J9 blank while D9 is also wrong: the blank-total finding names J9 (the cell to fill)
    but suggests nothing (its parts' sum 31 is not the right total); it lists both fixes."""
    found = _by_rule(_check(**{"t2.granted.person": 31, "t2.granted.total": None}))
    (blank,) = found["blank-total"]
    assert (blank.cells[0], blank.suspect_ids, blank.suggested, blank.expected, blank.actual) == (
        "J9", ("t2.granted.total",), None, 31, 0)
    assert blank.message == (
        "表二 J9（（一）予以公开·总计） 为空白，但其组成部分合计为 31，请填写总计。最可能填错的是 "
        "表二 D9（（一）予以公开·自然人）（现为 31，应为 22）、表二 J9（（一）予以公开·总计）（现为空白，应为 22），建议按此改正")
    by_cell = {f.suspect_ids: f.suggested for f in found["T2-result-total"]}
    assert by_cell == {("t2.granted.person",): 22, ("t2.granted.total",): 22}


def test_a_blank_total_alone_suggests_the_sum_of_its_parts() -> None:
    """Only J9 blank: the blank total is determined, suggested 22, and its message does not
    repeat the fix it already names ("请填写总计" and nothing more); the 总计 column's identity,
    which J9 also breaks, names J9 with the same value."""
    found = _by_rule(_check(**{"t2.granted.total": None}))
    assert sorted(found) == ["T2-result-total", "blank-total"]
    (f,), (col,) = found["blank-total"], found["T2-result-total"]
    assert (f.suspect_ids, f.suggested) == (("t2.granted.total",), 22)
    assert f.message == "表二 J9（（一）予以公开·总计） 为空白，但其组成部分合计为 22，请填写总计"
    assert (col.suspect_ids, col.suggested) == (("t2.granted.total",), 22)
    assert col.message.endswith("最可能填错的是 表二 J9（（一）予以公开·总计）（现为空白，应为 22），建议改为 22")


def test_without_localisation_a_blank_total_suggests_its_parts_and_identities_blame_the_total() -> None:
    """``locate=False`` (a computed county summary): no cell is blamed by search; a blank total
    suggests its parts' sum, a broken identity names only its total and suggests nothing."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    report = report_from_raw(load_form("2021"), {**values, "t2.granted.total": None, "t3.review.total": 9}, header)
    found = {f.rule: f for f in check(report, locate=False) if f.severity == "error"}
    assert (found["blank-total"].suggested, found["blank-total"].suspect_ids) == (22, ("t2.granted.total",))
    t3 = found["T3-group-total"]
    assert (t3.suggested, t3.suspect_ids) == (None, ("t3.review.total",))
    assert t3.message == "表三 E7（行政复议·总计） 应为 2（结果维持＋结果纠正＋其他结果＋尚未审结），实为 9，相差 7"


def test_blank_totals_of_one_rule_are_one_finding_listing_each_with_its_value() -> None:
    """J7 and J9 (总计 column) blank: one ``blank-total`` finding for the row rule, naming both
    with their values in form order, the blanks first among its cells (then their parts, and no
    other cell), the blanks as suspects, no single suggestion, and an instance that lists the
    identities it covers (so its fingerprint differs from a one-cell finding's)."""
    found = _by_rule(_check(**{"t2.new.total": None, "t2.granted.total": None}))
    (f,) = found["blank-total"]
    assert f.message == "表二 J 列（总计）有 2 个为空白，但其组成部分合计不为 0：J7 应为 81、J9 应为 22。请填写总计"
    assert f.cells == ("J7", "J9", "D7", "E7", "F7", "G7", "H7", "I7", "D9", "E9", "F9", "G9", "H9", "I9")
    assert (f.suspect_ids, f.suggested) == (("t2.new.total", "t2.granted.total"), None)
    assert f.instance == "blank-total:T2-row-total:row=new,T2-row-total:row=granted"
    assert {g.suspect_ids: g.suggested for g in found["T2-balance"] + found["T2-result-total"]} == {
        ("t2.new.total",): 81, ("t2.granted.total",): 22}


def test_a_blank_total_closing_a_row_and_a_column_is_named_once() -> None:
    """J30 (（七）总计·总计) closes both the 总计 column and the （七）总计 row: one finding, by the
    first rule, suggesting 81; the instance lists both identities it breaks (kept apart from a
    finding about one identity). With D30 blank too, the row's two blanks are one grouped finding
    whose instance covers every identity involved, each once."""
    (one,) = _by_rule(_check(**{"t2.total.total": None}))["blank-total"]
    assert (one.cells[0], one.suspect_ids, one.suggested) == ("J30", ("t2.total.total",), 81)
    assert one.instance == "blank-total:T2-result-total:col=total,T2-row-total:row=total"
    assert one.message == "表二 J30（（七）总计·总计） 为空白，但其组成部分合计为 81，请填写总计"
    (two,) = _by_rule(_check(**{"t2.total.total": None, "t2.total.person": None}))["blank-total"]
    assert two.suspect_ids == ("t2.total.person", "t2.total.total") and two.suggested is None
    assert two.instance == "blank-total:T2-result-total:col=person,T2-result-total:col=total,T2-row-total:row=total"
    assert two.message == ("表二 第 30 行（（七）总计）有 2 个为空白，但其组成部分合计不为 0：D30 应为 80、J30 应为 81。"
                           "请填写总计")


def test_a_shared_blank_total_does_not_hide_the_next_blank_total_of_its_rule() -> None:
    """J30 (shared by the 总计 column and the （七）总计 row) and J31 (四、结转下年度·总计) blank:
    J30 is named once, by the column rule; the row rule still reports J31, which follows J30
    among its identities."""
    found = _by_rule(_check(**{"t2.total.total": None, "t2.carried_out.total": None, "t2.carried_out.person": 1,
                               "t2.new.person": 81, "t2.new.total": 82}))
    assert [(f.suspect_ids, f.suggested, f.instance) for f in found["blank-total"]] == [
        (("t2.total.total",), 81, "blank-total:T2-result-total:col=total,T2-row-total:row=total"),
        (("t2.carried_out.total",), 1, "T2-row-total:row=carried_out")]
