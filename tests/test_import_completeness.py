"""Imports never lose cells silently: every published value is placed or reported.

The reports are built here as the text a PDF extraction gives (tab-separated rows, as in
the real reports in fixtures/real), with the defects seen in real published reports:
rows one value short, mangled and variant labels, a group printed as one row, a stray
value. Each test checks what the importer makes of it and what ``check`` then says.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkreport.commands import cli_check
from gkreport.core.engine import check
from gkreport.core.forms import load_form
from gkreport.readers import read_any
from gkreport.readers.pub_model import Model
from gkreport.readers.pub_solve import solve_row
from gkreport.readers.published import read_published
from test_import_published import expected_pingtan

FORM = load_form("2021")
HEAD = [
    "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）\t\t申请人情况\t\t\t\t\t\t总计\t",
    "\t\t自然人\t法人或其他组织\t\t\t\t\t\t",
    "\t\t\t{company}\t科研机构\t{nonprofit}\t法律服务机构\t{other}\t\t",
]
COLS = ["person", "company", "research", "nonprofit", "legal", "other_org", "total"]


def _t2_lines(values: Mapping[str, object], label: Callable[[str, tuple[str, ...]], list[str]],
              row_values: Callable[[str, list[str]], list[str]]) -> list[str]:
    lines = []
    seen: set[str] = set()
    for key in dict.fromkeys(FORM.cells[c].row_key for c in FORM.table("t2").cell_ids):
        path = FORM.cells[f"t2.{key}.person"].row_path
        shown = [p if p not in seen else "" for p in path]
        seen.update(path[:-1])
        vals = ["" if values[f"t2.{key}.{c}"] is None else str(values[f"t2.{key}.{c}"]) for c in COLS]
        lines.append("\t".join(label(key, tuple(shown))) + "\t" + "\t".join(row_values(key, vals)) + "\t")
    return lines


def report_text(values: Mapping[str, object] | None = None, *, intro: str = "",
                label: Callable[[str, tuple[str, ...]], list[str]] = lambda k, p: list(p),
                row_values: Callable[[str, list[str]], list[str]] = lambda k, v: v,
                header: Mapping[str, str] | None = None, t3: list[str] | None = None,
                extra_t2: Callable[[list[str]], list[str]] = lambda lines: lines) -> str:
    """A 2021-form report as text extraction gives it (tables two and three)."""
    values = expected_pingtan() if values is None else values
    names = {"company": "商业企业", "nonprofit": "社会公益组织", "other": "其他", **(header or {})}
    t3_vals = t3 if t3 is not None else [str(values[c]) for c in FORM.table("t3").cell_ids]
    parts = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    lines = ["某某县某某局2023年度政府信息公开工作年度报告", "", "一、总体情况", "", intro, "",
             "三、收到和处理政府信息公开申请情况", "",
             *[h.format(**names) for h in HEAD],
             *extra_t2(_t2_lines(values, label, row_values)),
             "", "四、政府信息公开行政复议、行政诉讼情况", "",
             "行政复议\t\t\t\t\t行政诉讼\t\t\t\t\t\t\t\t\t",
             "\t".join(parts) + "\t未经复议直接起诉\t\t\t\t\t复议后起诉\t\t\t\t",
             "\t\t\t\t\t" + "\t".join(parts + parts),
             "\t".join(t3_vals),
             "", "五、存在的主要问题及改进情况", "", "无。", "", "某某县某某局", "", "2024年1月19日", ""]
    return "\n".join(lines)


def write(tmp_path: Path, text: str, name: str = "report.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli_check.add_parser(sub)
    code = cli_check.run(parser.parse_args(["check", str(path)]))
    return code, capsys.readouterr().out


def t2_errors(findings) -> list:
    return [f for f in findings if f.severity == "error" and f.rule.startswith("T2")]


# ----------------------------------------------------------------------------- short rows


def _drop_company_from_results(key: str, vals: list[str]) -> list[str]:
    """Rows from 三、 on lost one value (a two-level label swallowed the 商业企业 cell)."""
    return vals if key in ("new", "carried_in") else [vals[0], *vals[2:]]


def test_rows_one_value_short_are_never_passing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, report_text(row_values=_drop_company_from_results))
    got = read_published(path)
    want = expected_pingtan()
    # rows that are all zero can only be zeros (info); rows with numbers cannot be placed
    zero_rows = {k for k in ("deny_secret", "deny_law", "deny_safety", "deny_internal", "unable_create",
                             "unable_unclear", "reject_petition", "reject_publication", "reject_massive",
                             "reject_confirm", "other_unpaid", "carried_out")}
    for key in zero_rows:
        assert all(got.values[f"t2.{key}.{c}"] == 0 for c in COLS), key
    unread_rows = {FORM.cells[c].row_key for c in got.unread}
    assert unread_rows == {"granted", "partial", "deny_third", "deny_process", "deny_case", "deny_query",
                           "unable_none", "reject_repeat", "other_overdue", "other_misc", "total"}
    assert all(got.values[c] is None for c in got.unread)
    assert all(got.values[c] == want[c] for c in want if c not in got.unread and c.startswith("t2."))
    # each unread row is named with its label, in Chinese
    errors = got.unplaced
    assert len(errors) == 11 and any("（一）予以公开" in e and "6 个数值" in e for e in errors)
    assert any("推定" in n for n in got.notes)
    # check: exit 1, no ✓, no false arithmetic errors, the identities say why they were not checked
    code, out = run_check(path, capsys)
    assert code == 1 and "✓" not in out and "import-incomplete" in out
    findings = check(read_any(path))
    assert t2_errors(findings) == []
    unchecked = [f for f in findings if f.rule.startswith("T2") and f.severity == "info"]
    assert unchecked and all("无法校验" in f.message and "导入不完整" in f.message for f in unchecked)


def test_a_short_row_whose_total_equals_the_one_value_is_deduced(tmp_path: Path) -> None:
    """"22 0 0 0 0 0" for seven columns: only a missing total of 22 keeps the row consistent."""
    drop_total = lambda key, vals: vals[:-1] if key == "granted" else vals  # noqa: E731
    got = read_published(write(tmp_path, report_text(row_values=drop_total)))
    assert got.values["t2.granted.total"] == 22 and got.complete
    (note,) = [n for n in got.notes if "推定" in n]
    assert "（一）予以公开" in note and "各列依次为 22、0、0、0、0、0、22" in note and "推定" in note


def test_too_many_values_are_not_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t3 = [str(v) for v in expected_pingtan().values()][-15:]
    t3_vals = [str(expected_pingtan()[c]) for c in FORM.table("t3").cell_ids]
    t3 = [*t3_vals[:7], "3", *t3_vals[7:]]
    path = write(tmp_path, report_text(t3=t3))
    got = read_published(path)
    assert set(FORM.table("t3").cell_ids) <= got.unread
    (msg,) = got.unplaced
    assert msg.startswith("表三") and "16 个数值" in msg and "应有 15 个" in msg
    code, out = run_check(path, capsys)
    assert code == 1 and "✓" not in out
    assert not [f for f in check(read_any(path)) if f.rule.startswith("T3") and f.severity == "error"]


# ----------------------------------------------------------------------------- labels


def test_mangled_first_result_row_is_placed(tmp_path: Path) -> None:
    def label(key: str, shown: tuple[str, ...]) -> list[str]:
        return ["三、本（一）予以公开"] if key == "granted" else list(shown)

    got = read_published(write(tmp_path, report_text(label=label)))
    assert got.values["t2.granted.person"] == 22 and got.values["t2.granted.total"] == 22
    assert got.complete


VARIANTS = {
    "partial": "（二）部分公开",
    "deny_safety": "3.危及‘三安全一稳定’",
    "other_overdue": "1.申请人无正当理由逾期不补正，行政机关不再处理其政府信息公开申请",
    "other_unpaid": "2.申请人逾期未按收费通知要求缴纳费用",
    "other_misc": "3.其他",
}


@pytest.mark.parametrize("variant", [
    VARIANTS,
    {**VARIANTS, "deny_safety": "3.危及三安全一稳定", "other_overdue": "1.逾期不补正", "other_unpaid": "2.逾期未缴纳费用"},
    {"partial": "(二)部分公开(区分处理的, 只计这一情形, 不计其他情形)", "deny_safety": "3. 危及\"三安全一稳定\""},
])
def test_real_label_variants_keep_every_row(tmp_path: Path, variant: dict[str, str]) -> None:
    def label(key: str, shown: tuple[str, ...]) -> list[str]:
        return [*shown[:-1], variant[key]] if key in variant else list(shown)

    path = write(tmp_path, report_text(label=label, header={"nonprofit": "社会公益", "other": "其他组织"}))
    got = read_published(path)
    want = expected_pingtan()
    assert {c: got.values[c] for c in want if c.startswith("t2.")} == {c: v for c, v in want.items() if c.startswith("t2.")}
    assert got.complete and not got.unread
    assert [f for f in check(read_any(path)) if f.severity == "error"] == []


@pytest.mark.parametrize(("key", "text"), [
    ("carried_in", "二、上年度结转政府信息公开申请"),
    ("partial", "【二】部分公开"),
    ("total", "（七）合计"),
    ("new", "一、本年新收政府信息公开申请"),
])
def test_more_row_label_variants(tmp_path: Path, key: str, text: str) -> None:
    def label(k: str, shown: tuple[str, ...]) -> list[str]:
        return [*shown[:-1], text] if k == key else list(shown)

    got = read_published(write(tmp_path, report_text(label=label)))
    want = expected_pingtan()
    assert all(got.values[f"t2.{key}.{c}"] == want[f"t2.{key}.{c}"] for c in COLS)
    assert got.complete


def test_an_unrecognised_row_makes_the_missing_row_unread(tmp_path: Path) -> None:
    """A label nothing matches: its values are reported, and the row that is then missing is
    unread rather than blank, so no identity reports a false error."""
    def label(key: str, shown: tuple[str, ...]) -> list[str]:
        return [*shown[:-1], "另有情形（见说明）"] if key == "deny_third" else list(shown)

    path = write(tmp_path, report_text(label=label))
    got = read_published(path)
    assert {FORM.cells[c].row_key for c in got.unread} == {"deny_third"}
    assert any("另有情形（见说明）" in e and "“1”" in e for e in got.unplaced)
    assert any("4.保护第三方合法权益" in e and "没有读到" in e for e in got.unplaced)
    assert t2_errors(check(read_any(path))) == []


def test_a_garbled_label_is_matched_by_its_number_and_said(tmp_path: Path) -> None:
    def label(key: str, shown: tuple[str, ...]) -> list[str]:
        return [*shown[:-1], "4.保护第■方合■权益"] if key == "deny_third" else list(shown)

    got = read_published(write(tmp_path, report_text(label=label)))
    assert got.values["t2.deny_third.person"] == 1 and got.complete
    assert any("按其编号和位置对应" in n and "4.保护第■方合■权益" in n for n in got.notes)


# ----------------------------------------------------------------------------- group rows


def _one_other_row(lines: list[str], values: str) -> list[str]:
    out = [ln for ln in lines if not any(s in ln for s in ("逾期不补正", "逾期未按收费", "\t3.其他\t"))]
    i = next(i for i, ln in enumerate(out) if "（七）总计" in ln)
    return [*out[:i], f"\t（六）其他处理\t{values}\t", *out[i:]]


def test_2021_other_processing_printed_as_one_zero_row(tmp_path: Path) -> None:
    values = dict.fromkeys(FORM.cells, 0)
    text = report_text(values, extra_t2=lambda lines: _one_other_row(lines, "\t".join(["0"] * 7)))
    got = read_published(write(tmp_path, text))
    for key in ("other_overdue", "other_unpaid", "other_misc"):
        assert all(got.values[f"t2.{key}.{c}"] == 0 for c in COLS)
    assert got.complete and any("（六）其他处理" in n and "只能都是 0" in n for n in got.notes)


def test_2021_other_processing_printed_as_one_row_with_numbers(tmp_path: Path) -> None:
    text = report_text(extra_t2=lambda lines: _one_other_row(lines, "2\t0\t0\t0\t0\t0\t2"))
    path = write(tmp_path, text)
    got = read_published(path)
    assert got.unread == {f"t2.{k}.{c}" for k in ("other_overdue", "other_unpaid", "other_misc")
                          for c in ("person", "total")}
    assert got.values["t2.other_misc.company"] == 0
    (msg,) = got.unplaced
    assert "（六）其他处理" in msg and "3 行" in msg
    assert t2_errors(check(read_any(path))) == []


# ----------------------------------------------------------------------------- check --json


def test_json_findings_name_the_unread_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, report_text(row_values=lambda k, v: v[:5] if k == "deny_query" else v))
    parser = argparse.ArgumentParser()
    cli_check.add_parser(parser.add_subparsers())
    assert cli_check.run(parser.parse_args(["check", "--json", str(path)])) == 1
    (result,) = json.loads(capsys.readouterr().out)
    (inc,) = [f for f in result["findings"] if f["rule"] == "import-incomplete"]
    assert "8.属于行政查询事项" in inc["message"] and len(inc["cell_ids"]) == 7
    assert inc["sheet"] == FORM.cells["t2.deny_query.total"].sheet


def test_import_cli_says_how_many_cells_it_could_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gkreport.commands import cli_import

    path = write(tmp_path, report_text(row_values=_drop_company_from_results))
    parser = argparse.ArgumentParser()
    cli_import.add_parser(parser.add_subparsers())
    out = tmp_path / "out.xlsx"
    args = parser.parse_args(["import", str(path), "-o", str(out)])
    code = args.func(args)
    printed = capsys.readouterr().out
    assert code == 1 and out.exists()
    assert "其余在报告中为空白" not in printed
    assert "报告中有数值但未能读取 77 个" in printed and "导入不完整" in printed
    assert printed.count("未能读取：") == 11


def test_engine_reports_identities_on_unread_cells_as_not_checkable() -> None:
    """Generic: any report whose cell is ``unread`` gets 无法校验 for the identities using it."""
    from gkreport.core.report import report_from_raw
    from gkreport.core.values import unread

    values = expected_pingtan()
    rep = report_from_raw(FORM, values, {"hdr.agency": "某单位", "hdr.year": 2023})
    rep.values["t2.granted.person"] = unread("导入时未能读取")
    findings = check(rep)
    assert [f for f in findings if f.severity == "error"] == []
    notes = {f.rule: f for f in findings if f.severity == "info" and "无法校验" in f.message}
    assert set(notes) == {"T2-result-total", "T2-row-total"}
    assert notes["T2-row-total"].cell_ids == ("t2.granted.person",)
    # the same cell typed wrong is an arithmetic error again: unread is what turns it off
    rep.values["t2.granted.person"] = report_from_raw(FORM, {"t2.granted.person": 5}).values["t2.granted.person"]
    assert {f.rule for f in check(rep) if f.severity == "error"} >= {"T2-row-total", "T2-result-total"}


def test_2019_report_whose_result_rows_lost_a_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real 贺兰县洪广镇 2020 text with every row from 三、 on one value short (as in issue #11,
    where 147 of 198 cells came out blank and check said ✓): zeros are forced, a number is not."""
    from test_import_published import REAL

    lines = (REAL / "helan-hongguang-2020.txt").read_text(encoding="utf-8").split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("三、本年度办理结果"))
    end = next(i for i, ln in enumerate(lines) if ln.startswith("四、结转下年度继续办理"))
    for i in range(start, end + 1):
        if "\t0\t0\t0\t0\t0\t0\t0" in lines[i]:
            lines[i] = lines[i].replace("\t0\t0\t0\t0\t0\t0\t0", "\t0\t0\t0\t0\t0\t0", 1)
    zero = write(tmp_path, "\n".join(lines), "zero.txt")
    got = read_published(zero)
    assert got.complete and all(v == 0 for v in got.values.values())
    assert sum("各列依次为 0、0、0、0、0、0、0" in n for n in got.notes) == 21
    i = next(i for i, ln in enumerate(lines) if "(一) 予以公开" in ln)
    lines[i] = lines[i].replace("\t0\t0\t0\t0\t0\t0", "\t3\t0\t0\t0\t0\t3")
    some = write(tmp_path, "\n".join(lines), "some.txt")
    got = read_published(some)
    assert {c.rsplit(".", 1)[0] for c in got.unread} == {"t2.granted"}
    code, out = run_check(some, capsys)
    assert code == 1 and "✓" not in out and "（一）予以公开" in out


# ----------------------------------------------------------------------------- never guess (property)


MODEL = Model(FORM)
ROW_IDS = [f"t2.granted.{c}" for c in COLS]
T3_IDS = list(FORM.table("t3").cell_ids)


@st.composite
def consistent_row(draw: st.DrawFn, t3: bool = False) -> list[int]:
    small = st.integers(0, 3)
    if not t3:
        parts = draw(st.lists(small, min_size=6, max_size=6))
        return [*parts, sum(parts)]
    out = []
    for _ in range(3):
        parts = draw(st.lists(small, min_size=4, max_size=4))
        out += [*parts, sum(parts)]
    return out


@settings(max_examples=300, deadline=None)
@given(data=st.data(), t3=st.booleans(), extra=st.booleans())
def test_a_resolved_row_is_always_the_true_row(data: st.DataObject, t3: bool, extra: bool) -> None:
    """Whatever value is lost or added, a row the solver places is the row that was printed."""
    row = data.draw(consistent_row(t3))
    ids = T3_IDS if t3 else ROW_IDS
    texts = [str(v) for v in row]
    pos = data.draw(st.integers(0, len(texts) - (0 if extra else 1)))
    if extra:
        texts.insert(pos, str(data.draw(st.integers(0, 3))))
    else:
        del texts[pos]
    solved = solve_row(texts, ids, FORM.cells, MODEL.constraints(ids))
    if solved is not None:
        got = [int(solved.texts[c]) if c in solved.texts else solved.deduced[c] for c in ids]
        assert got == row
    if all(v == 0 for v in row) and not extra:
        assert solved is not None  # zeros are always forced


def test_tsv_row_with_a_missing_value_is_not_left_partly_blank(tmp_path: Path) -> None:
    from test_import_published import REAL

    text = (REAL / "pingtan-2023.tsv").read_text(encoding="utf-8")
    old = "三、本年度办理结果/（一）予以公开\t22\t0\t0\t0\t0\t0\t22"
    assert old in text
    path = write(tmp_path, text.replace(old, "三、本年度办理结果/（一）予以公开\t22\t0\t0\t0\t0\t22"), "t.tsv")
    got = read_published(path)
    assert {c for c in got.unread} == {f"t2.granted.{c}" for c in COLS}
    (msg,) = got.unplaced
    assert "（一）予以公开" in msg and "6 个数值" in msg


def test_unread_cells_make_the_county_sum_uncertain(tmp_path: Path) -> None:
    """A published report whose rows could not all be read is summed (not --strict), and the
    summary cells its unread values feed are marked uncertain, naming the agency."""
    from gkreport.consolidation.consolidate import consolidate

    folder = tmp_path / "reports"
    folder.mkdir()
    write(folder, report_text(row_values=_drop_company_from_results))
    got = read_published(folder / "report.txt")
    result = consolidate([folder])
    (entry,) = result.included
    assert entry.summary.counts["error"] >= 1  # import-incomplete
    for cid in got.unread:
        assert entry.name in result.uncertain(cid), cid
    assert not result.uncertain("t2.new.person")  # read: certain
