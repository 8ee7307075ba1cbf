"""The narrative rule: counts stated in a report's prose against its tables.

The snippets are copied from real published reports (fixtures/real and the reports named
in issue #12) as literals; the tables are built in the test. A count of applications
received may be the new ones (一), new plus carried over (一 + 二) or the 办理结果 total
((七)总计): any of these is accepted; a count matching none is reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gkreport.core.engine import check
from gkreport.core.forms import load_form
from gkreport.core.report import report_from_raw
from gkreport.readers import read_any

REAL = Path(__file__).parent / "fixtures" / "real"

SNIPPETS = {
    # 嘉兴市秀洲区洪合镇 2020 (fixtures/real/xiuzhou-honghe-2020.txt): new 5
    "xiuzhou": "截至2020年12月31日，我镇受理依申请公开政府信息情况5件，已按规定要求回复申请人。",
    # 贺兰县洪广镇 2020 (fixtures/real/helan-hongguang-2020.txt): all zero
    "helan": "2020 年，洪广镇受理政府信息公开申请 0 件。\n\n2020 年，洪广镇受理有关政府信息公开方面的行政复议案件 0 件，"
             "行政诉讼案件 0 件。未发生公民、法人和其他组织认为行政机关不依法履行信息公开而提起举报。",
    # 平罗县通伏乡 2020 (fixtures/real/pingluo-tongfu-2020.txt): "依申请公开 23 件" are documents, not requests
    "pingluo": "本年度共制发公文 171 件，其中公开发布 72 件，依申请公开 23 件，不公开 76 件，通过政府网站公开发布 58 件，"
               "未印发规章、规范性文件。\n本年度未收到政府信息依申请公开的申请，未接到政府信息公开方面的投诉",
    # issue #12: 74 new + 1 carried over
    "district": "全区收到政府信息公开申请75件，涉及自然人72件、商业企业3件。",
}


def report(text: str, form: str = "2019", **cells: int):
    values = dict.fromkeys(load_form(form).cells, 0)
    values.update({k.replace("__", "."): v for k, v in cells.items()})
    return report_from_raw(load_form(form), values, {"hdr.agency": "某单位", "hdr.year": 2020}, text=text)


def narrative(rep) -> list:
    return [f for f in check(rep) if f.rule == "narrative-vs-table"]


def test_new_plus_carried_over_is_accepted() -> None:
    rep = report(SNIPPETS["district"], "2021", t2__new__total=74, t2__carried_in__total=1, t2__total__total=75)
    assert narrative(rep) == []


def test_the_result_total_is_accepted() -> None:
    rep = report("本年度共答复政府信息公开申请 12 件。", "2021", t2__new__total=10, t2__carried_in__total=3,
                 t2__total__total=12)
    assert narrative(rep) == []


def test_a_count_matching_nothing_is_reported() -> None:
    rep = report(SNIPPETS["district"], "2021", t2__new__total=74, t2__carried_in__total=0, t2__total__total=74)
    (f,) = narrative(rep)
    assert "75" in f.message and "74" in f.message and "新收加上年结转" in f.message


@pytest.mark.parametrize(("said", "flagged"), [(5, False), (7, True)])
def test_shouli_yishenqing_wording(said: int, flagged: bool) -> None:
    text = SNIPPETS["xiuzhou"].replace("情况5件", f"情况{said}件")
    rep = report(text, t2__new__total=5, t2__total__total=5)
    assert bool(narrative(rep)) is flagged


@pytest.mark.parametrize("text", [
    "共收到75件政府信息公开申请。",
    "本年度新收政府信息公开申请共计75件。",
    "全年共受理信息公开申请75件，均已按期答复。",
])
def test_more_wordings(text: str) -> None:
    assert narrative(report(text, "2021", t2__new__total=75, t2__total__total=75)) == []
    assert narrative(report(text, "2021", t2__new__total=70, t2__total__total=70))


@pytest.mark.parametrize("name", ["helan", "pingluo"])
def test_real_zero_reports_have_no_false_positive(name: str) -> None:
    assert narrative(report(SNIPPETS[name])) == []


def test_no_false_positive_on_other_kinds_of_application() -> None:
    text = "全年受理行政许可申请3000件，办理行政处罚案件12件；受理政府信息公开申请5件。"
    assert narrative(report(text, t2__new__total=5, t2__total__total=5)) == []


def test_a_huge_number_in_the_prose_is_not_a_traceback() -> None:
    rep = report("受理政府信息公开申请" + "9" * 5000 + "件。", t2__new__total=5)
    narrative(rep)  # no exception; a 5000-digit count is not taken as a count


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.iterdir() if p.suffix in (".txt", ".tsv")))
def test_every_real_report_has_no_narrative_finding(name: str) -> None:
    assert narrative(read_any(REAL / name)) == []


def test_a_heading_does_not_run_into_the_next_paragraph() -> None:
    """A heading line ends where it ends: "…申请情况" + the next paragraph's "结转下年度继续办理 17720 件"
    is not a statement about applications received (seen on published output)."""
    text = "三、收到和处理政府信息公开申请情况\n结转下年度继续办理 17720 件。"
    rep = report(text, "2021", t2__new__total=0, t2__carried_out__total=17720)
    assert narrative(rep) == []
    # a sentence wrapped across lines (PDF extraction) is still one sentence
    wrapped = report("本年度共收到政府信息公开\n申请 9 件。", "2021", t2__new__total=5, t2__total__total=5)
    assert [f.expected for f in narrative(wrapped)] == [9]
