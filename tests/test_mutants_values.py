"""What a cell's content is read as: units, negative and non-integer numbers (issue 14's
surviving mutants in values.py). The contract is /work/shared/design/forms.md's value-type and
value-format rules: a fitting unit is read and reported; a count unit in an amount or a money
unit in a count is an error at the cell, never a silent number.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REAL_REPORTS, make_filled
from gkreport import api
from gkreport.core.values import MAX_ABS, MAX_NUMBER_TEXT, Value, format_number, iso_date, parse_value

NO_UNIT = "（本表未规定单位，请确认各单位口径一致）"


@pytest.mark.parametrize(("raw", "ctype", "unit", "number", "why"), [
    # the form's unit (2021 收费金额 is in 万元): other money units are converted to it
    ("2.5万元", "amount", "万元", 2.5, "去掉单位“万元”"),
    ("25000元", "amount", "万元", 2.5, "由元换算为万元"),
    ("1.5亿元", "amount", "万元", 15000, "由亿元换算为万元"),
    ("2万元", "amount", "元", 20000, "由万元换算为元"),
    ("1亿元", "amount", "元", 100000000, "由亿元换算为元"),
    ("75394432.52元", "amount", "元", 75394432.52, "去掉单位“元”"),
    # no unit on the form (2019 采购总金额): the unit is dropped and the clerk asked to check
    ("251000元", "amount", None, 251000, "去掉单位“元”" + NO_UNIT),
    ("2万元", "amount", None, 2, "去掉单位“万元”" + NO_UNIT),
    ("1.5亿元", "amount", None, 1.5, "去掉单位“亿元”" + NO_UNIT),
    # count units in counts and signed counts
    ("5件", "count", None, 5, "去掉单位“件”"),
    ("5 件", "count", None, 5, "去掉单位“件”"),
    ("3项", "signed", None, 3, "去掉单位“项”"),
    ("-3项", "signed", None, -3, "去掉单位“项”"),
    ("１，２３４件", "count", None, 1234, "含全角字符，去掉单位“件”，含千位分隔符"),
    ("-1,234", "signed", None, -1234, "含千位分隔符"),
    ("-3", "signed", None, -3, "数字以文本形式存储"),
    ("1e3", "count", None, 1000, "数字以文本形式存储"),
])
def test_text_numbers_with_units_are_read_and_reported(raw: str, ctype: str, unit: str | None,
                                                        number: float, why: str) -> None:
    """Pins each conversion factor (元 1, 万元 10⁴, 亿元 10⁸ relative to the form's unit) and the
    exact note the clerk is shown; the value is ``converted`` (a warning), never plain."""
    v = parse_value(raw, ctype, unit)
    assert (v.state, v.why, v.raw) == ("converted", why, raw)
    assert v.number == pytest.approx(number)
    assert v.arith == v.number


@pytest.mark.parametrize(("raw", "ctype", "unit", "why"), [
    ("5件", "amount", "万元", "金额单元格带有件数单位“件”"),
    ("5项", "amount", None, "金额单元格带有件数单位“项”"),
    ("3万元", "count", None, "件数单元格带有金额单位“万元”"),
    ("3元", "count", None, "件数单元格带有金额单位“元”"),
    ("2亿元", "count", None, "件数单元格带有金额单位“亿元”"),
    ("3元", "signed", None, "件数单元格带有金额单位“元”"),
    ("-5", "amount", "万元", "是负数（此处不能为负）"),
    (-5, "amount", None, "是负数（此处不能为负）"),
    (-0.01, "amount", None, "是负数（此处不能为负）"),
    (-1, "count", None, "是负数（此处不能为负）"),
    (-5.5, "signed", None, "不是整数（件数、项目数应为整数）"),
    ("2.5", "signed", None, "不是整数（件数、项目数应为整数）"),
    ("-2.5件", "signed", None, "不是整数（件数、项目数应为整数）"),
    (0.5, "count", None, "不是整数（件数、项目数应为整数）"),
    ("万元", "amount", "万元", "不是数字"),
    ("件", "count", None, "不是数字"),
    (True, "count", None, "是逻辑值（TRUE/FALSE），不是数字"),
    (float("nan"), "amount", None, "不是有效数字"),
    (MAX_ABS * 10, "amount", None, "数值过大，不可能是真实的件数或金额"),
    ("1e999999999", "count", None, "数值过大或不是有效数字"),
])
def test_wrong_units_negatives_and_fractions_are_errors_at_the_cell(raw: object, ctype: str, unit: str | None,
                                                                     why: str) -> None:
    """A count unit in an amount, a money unit (元, 万元, 亿元) in a count, a negative count or
    amount, a fraction where whole numbers are counted: ``invalid`` with the reason, no number
    (it counts as 0 in the arithmetic and is an error, so nothing is silently wrong)."""
    v = parse_value(raw, ctype, unit)
    assert (v.state, v.why, v.number) == ("invalid", why, None)
    assert v.arith == 0


@pytest.mark.parametrize(("raw", "ctype", "number"), [
    (-3, "signed", -3), (-3.0, "signed", -3), (2.0, "count", 2), (0, "amount", 0), (-0.0, "count", 0),
    (12.5, "amount", 12.5), (MAX_ABS, "amount", MAX_ABS), (-MAX_ABS, "signed", -MAX_ABS),
])
def test_numbers_in_range_are_plain_numbers(raw: float, ctype: str, number: float) -> None:
    """Typed numbers: signed counts may be negative; whole floats become ints (no "2.0" in
    messages); the limit ``MAX_ABS`` itself is still a number."""
    v = parse_value(raw, ctype)
    assert (v.state, v.number, v.why) == ("number", number, "")
    assert type(v.number) is type(number) or isinstance(number, float)


def test_blank_and_not_applicable_stay_distinct_from_zero() -> None:
    """Blank (None, spaces, zero-width space) is ``blank``; "/", "—", "不适用" are ``na``; both
    count 0 but only 0 is a number; a long string is refused without parsing it."""
    for raw in (None, "", "  ", "\u200b"):
        assert parse_value(raw).is_blank
    for raw in ("/", "—", "不适用", " - "):
        v = parse_value(raw)
        assert (v.state, v.arith, v.why) == ("na", 0, "视为不适用")
    assert parse_value(0).state == "number"
    assert parse_value("1" * (MAX_NUMBER_TEXT + 1)).why == f"不是有效数字（{MAX_NUMBER_TEXT + 1} 位数字，过长）"
    assert parse_value("字" * (MAX_NUMBER_TEXT + 1)).why == "不是数字"
    assert Value(5, "invalid", 5).arith == 0 and Value(5, "converted", 5).arith == 5


def test_numbers_in_messages_and_dates() -> None:
    """``format_number``: integers without ``.0``, amounts without float noise, blank as 空白;
    ``iso_date`` reads the usual ways a 填报日期 is typed and refuses impossible dates."""
    assert [format_number(x) for x in (None, 3.0, -2, 5949.088667, 0.1 + 0.2)] == [
        "空白", "3", "-2", "5949.088667", "0.3"]
    assert [iso_date(x) for x in ("2024年1月20日", "2024.1.20", "2024-02-30", None, "x")] == [
        "2024-01-20", "2024-01-20", None, None, None]


def test_units_and_signs_end_to_end_through_a_workbook(tmp_path: Path) -> None:
    """A real 2021 workbook: 收费金额 "1.5亿元" is read as 15000 万元 (warning, suggested 15000);
    a count "3万元" and a count "-2" are errors at their cells with the reason in the message."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    changes = {"t1.fee.amount": "1.5亿元", "t1.rules.issued": "3万元", "t2.deny_law.person": "-2"}
    path = make_filled(tmp_path, "units.xlsx", "2021", {**values, **changes}, header)
    by_cell = {(f.rule, f.cell_ids): f for f in api.check(path) if f.rule in ("value-type", "value-format")}
    fee = by_cell[("value-format", ("t1.fee.amount",))]
    assert (fee.severity, fee.cells, fee.suggested) == ("warning", ("B17",), 15000)
    assert "按 15000 读取（由亿元换算为万元）" in fee.message
    issued = by_cell[("value-type", ("t1.rules.issued",))]
    assert (issued.severity, issued.cells) == ("error", ("B6",))
    assert "件数单元格带有金额单位“万元”" in issued.message
    neg = by_cell[("value-type", ("t2.deny_law.person",))]
    assert "是负数（此处不能为负）" in neg.message and neg.suggested is None
    assert len(by_cell) == 3


def test_a_signed_cell_takes_negative_whole_numbers_but_not_fractions(tmp_path: Path) -> None:
    """2019 表一 本年增/减: −233 typed as a number or "-233" as text is read as −233; "-2.5" is an
    error (项目数 are whole), and a fractional number typed as a number too."""
    _, header, values = REAL_REPORTS["xiuzhou-honghe-2020"]()
    changes = {"t1.license.change": "-233", "t1.penalty.change": "-2.5", "t1.coercion.change": -1657.5}
    path = make_filled(tmp_path, "signed.xlsx", "2019", {**values, **changes}, header)
    report = api.read(path)
    assert report.value("t1.license.change").number == -233
    found = {f.cell_ids[0]: f for f in api.check(report) if f.rule == "value-type"}
    assert set(found) == {"t1.penalty.change", "t1.coercion.change"}
    assert all("不是整数（件数、项目数应为整数）" in f.message for f in found.values())
