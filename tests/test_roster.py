"""Roster matching: exact and normalised names count, near names are proposed (rapidfuzz),
and console, JSON, 报送情况 and the summary's comments all tell the same story."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkreport.commands.cli import main as cli_main
from gkreport.consolidation.consolidate import consolidate, write_summary
from gkreport.consolidation.roster import (
    EXACT,
    NEAR,
    NORMALISED,
    PROPOSE_SCORE,
    RosterEntry,
    RosterMatcher,
    closest,
    near_note,
)
from gkreport.core.forms import load_form
from gkreport.output.fill import fill_workbook
from gkreport.output.template import build_template

ROSTER = [
    RosterEntry("某某县政府办公室", "本级"),
    RosterEntry("某某县财政局", "本级"),
    RosterEntry("某某县统计局", "本级"),
    RosterEntry("石马镇人民政府", "乡镇街道"),
    RosterEntry("东山镇人民政府", "乡镇街道"),
    RosterEntry("长兴街道办事处", "乡镇街道"),
]


@pytest.mark.parametrize(("typed", "roster_name", "kind"), [
    ("某某县财政局", "某某县财政局", EXACT),
    ("  某某县财政局 ", "某某县财政局", EXACT),
    ("某某县人民政府办公室", "某某县政府办公室", NORMALISED),  # 人民政府 = 政府
    ("某某县 财政局", "某某县财政局", NORMALISED),  # whitespace
    ("某某县财政局（）", "某某县财政局", NORMALISED),  # full-width brackets
    ("ＸＹ", None, None),
    ("长兴街道", "长兴街道办事处", NORMALISED),  # 办事处
    ("石马镇", "石马镇人民政府", NORMALISED),  # 镇 = 镇人民政府
    ("某某县石马镇人民政府", "石马镇人民政府", NORMALISED),  # the county's prefix, unique without it
    ("县财政局", "某某县财政局", NORMALISED),
    ("财政局", "某某县财政局", NORMALISED),
    ("西山镇人民政府", None, None),  # one character from 东山镇: never assumed
    ("某某市财政局", None, None),  # another level's agency, not this county's
])
def test_exact_and_normalised_matches(typed: str, roster_name: str | None, kind: str | None) -> None:
    m = RosterMatcher(ROSTER).match(typed)
    assert (m.entry.name, m.kind, m.score) == (roster_name, kind, 100.0) if roster_name else m is None


def test_full_and_half_width_forms_match() -> None:
    roster = [RosterEntry("某某县(区)财政局", "本级")]
    m = RosterMatcher(roster).match("某某县（区）财政局")
    assert m is not None and m.kind == NORMALISED


def test_a_prefix_is_dropped_only_where_unambiguous() -> None:
    roster = [RosterEntry(n, "本级") for n in ("甲县财政局", "甲县教育局", "乙区财政局", "乙区教育局")]
    matcher = RosterMatcher(roster)
    assert matcher.prefixes == ["甲县", "乙区"]
    assert matcher.match("财政局") is None  # 甲县 or 乙区?
    assert matcher.match("甲县 财政局").entry.name == "甲县财政局"  # type: ignore[union-attr]


def test_near_names_are_proposed_with_a_score_one_to_one() -> None:
    matcher = RosterMatcher(ROSTER)
    got = matcher.propose(["石玛镇人民政府", "石码镇人民政府", "某某县气象局"], ROSTER)
    # both typos resemble 石马镇 equally: the first gets it, the second nothing as good is left
    assert got["石玛镇人民政府"].entry.name == "石马镇人民政府"
    assert got["石玛镇人民政府"].kind == NEAR and got["石玛镇人民政府"].score == pytest.approx(600 / 7)
    assert "石码镇人民政府" not in got or got["石码镇人民政府"].entry.name != "石马镇人民政府"
    assert "某某县气象局" not in got  # 67 % to 某某县统计局: below PROPOSE_SCORE, not a useful hint
    assert near_note(got["石玛镇人民政府"]) == "名称不符，可能是名单中的 石马镇人民政府（相似度 86%）"
    # a roster entry that already has its report is not proposed again
    free = [r for r in ROSTER if r.name != "石马镇人民政府"]
    assert "石玛镇人民政府" not in matcher.propose(["石玛镇人民政府"], free)
    assert closest("某某县统计局局", ROSTER).entry.name == "某某县统计局"  # type: ignore[union-attr]


def test_duplicate_roster_names_are_one_agency(tmp_path: Path) -> None:
    roster = [RosterEntry("某某县财政局", "本级"), RosterEntry("某某县财政局", "本级")]
    assert RosterMatcher(roster).match("某某县 财政局") is not None
    d, roster_csv, _ = _county(tmp_path)
    text = roster_csv.read_text(encoding="utf-8")
    roster_csv.write_text(text + "某某县财政局,县本级\n某某县统计局,县本级\n", encoding="utf-8")
    result = consolidate([d], roster=roster_csv, jobs=1)
    assert [m.name for m, _ in result.missing] == ["某某县统计局"]  # listed twice, missing once


_NAMES = st.text(alphabet="东西南北中新和安平清石青龙凤云山河湖溪桥", min_size=2, max_size=4)
_SUFFIX = st.sampled_from(["镇人民政府", "乡人民政府", "街道办事处", "局", "委员会"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_NAMES, _SUFFIX).map("".join), min_size=1, max_size=12, unique=True),
       st.data())
def test_every_roster_name_matches_itself_and_its_spelling_variants(names: list[str], data: st.DataObject) -> None:
    roster = [RosterEntry(n, None) for n in names]
    matcher = RosterMatcher(roster)
    name = data.draw(st.sampled_from(names))
    assert matcher.match(name).entry.name == name  # type: ignore[union-attr]
    spaced = " ".join(name) + "（）"
    variant = spaced.replace("人民政府", "政府") if data.draw(st.booleans()) else spaced
    m = matcher.match(variant)
    assert m is not None and m.entry.name == name and m.kind == NORMALISED
    # a proposal is never below the threshold, and never for an entry already taken
    for p in matcher.propose([variant + "甲"], roster).values():
        assert p.score >= PROPOSE_SCORE and p.kind == NEAR


# ---------------------------------------------------------------------------- end to end

COUNTY = [  # (typed in the report, roster name or None, 层级)
    ("某某县人民政府办公室", "某某县政府办公室", "县本级"),
    ("某某县财政局", "某某县财政局", "县本级"),
    ("石玛镇人民政府", "石马镇人民政府", "镇"),  # a typo: near
    ("长兴街道", "长兴街道办事处", "街道"),
    ("某某县气象局", None, None),  # not on the roster, nothing like it
    (None, "某某县统计局", "县本级"),  # never reported
]


def _county(tmp_path: Path) -> tuple[Path, Path, dict[str, dict[str, int]]]:
    form = load_form("2021")
    wb = build_template(form)
    d = tmp_path / "in"
    d.mkdir()
    values: dict[str, dict[str, int]] = {}
    for i, (typed, _, _) in enumerate(COUNTY):
        if typed is None:
            continue
        n = i + 1  # balanced: what came in is carried over to next year
        v = {"t2.new.person": n, "t2.new.total": n, "t2.carried_out.person": n, "t2.carried_out.total": n,
             "t1.rules.issued": 10 * n}
        fill_workbook(wb, form, v, {"hdr.agency": typed, "hdr.year": 2023})
        wb.save(d / f"{i}.xlsx")
        values[typed] = v
    roster = tmp_path / "名单.csv"
    roster.write_text("单位名称,层级\n" + "".join(f"{n},{lv}\n" for _, n, lv in COUNTY if n), encoding="utf-8")
    return d, roster, values


def test_one_truth_on_console_json_status_sheet_and_comments(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    d, roster, values = _county(tmp_path)
    result = consolidate([d], roster=roster, jobs=1)
    assert len(result.included) == 5  # every report is summed
    assert [m.name for m, _ in result.missing] == ["某某县统计局"]  # only the one that never reported
    near = "名称不符，可能是名单中的 石马镇人民政府（相似度 86%）"
    assert [(m.agency, m.suggestion, m.note) for m in result.mismatched] == [
        ("石玛镇人民政府", "石马镇人民政府", near), ("某某县气象局", None, "名称不在名单中（名单中没有相近的名称）")]
    assert {e.summary.agency: e.name for e in result.renamed} == {
        "某某县人民政府办公室": "某某县政府办公室", "长兴街道": "长兴街道办事处"}
    assert result.sums["t2.new.total"] == sum(v["t2.new.total"] for v in values.values())

    # console
    out = tmp_path / "s.xlsx"
    assert cli_main(["consolidate", str(d), "--roster", str(roster), "-o", str(out), "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "名单 5 个单位：已报送 3（其中名称与名单略有不同 2），名称不符待确认 1，未报送 1；名单外单位 1" in text
    assert "未报送：某某县统计局" in text and "未报送：石马镇" not in text
    assert f"待确认：石玛镇人民政府（2.xlsx）{near}；已计入全县合计" in text
    assert "名单外：某某县气象局（4.xlsx）名称不在名单中（名单中没有相近的名称）；已计入全县合计" in text
    assert "名称与名单略有不同：某某县人民政府办公室（0.xlsx）按名单中的 某某县政府办公室 计入" in text

    # JSON
    assert cli_main(["consolidate", str(d), "--roster", str(roster), "-o", str(out), "--jobs", "1",
                     "--force", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in doc["missing"]] == ["某某县统计局"]
    assert doc["roster"] == {"roster": 5, "submitted": 3, "renamed": 2, "pending": 1, "missing": 1, "unlisted": 1,
                             "duplicates": 0}
    assert doc["mismatched"][0] == {"agency": "石玛镇人民政府", "file": "2.xlsx", "suggestion": "石马镇人民政府",
                                    "score": pytest.approx(85.7, abs=0.1), "note": near}
    files = {f["agency"]: f for f in doc["files"]}
    assert files["石玛镇人民政府"]["included"] and near in files["石玛镇人民政府"]["reason"]
    assert files["长兴街道"]["match"] == "normalised" and files["长兴街道"]["roster_name"] == "长兴街道办事处"

    # 报送情况: one row per file plus the agency that never reported; 石马镇 is not 未报送
    wb = openpyxl.load_workbook(out)
    ws = wb["报送情况"]
    assert ws["A1"].value.endswith("名单 5 个单位：已报送 3（其中名称与名单略有不同 2），名称不符待确认 1，未报送 1；"
                                   "名单外单位 1，重复报送 0")
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    by_typed = {r[3]: r for r in rows if r[3]}
    assert [r[0] for r in rows if r[6] == "未报送"] == ["某某县统计局"]
    assert by_typed["石玛镇人民政府"][6] == "已纳入·名称不符" and by_typed["石玛镇人民政府"][9].startswith(near)
    assert by_typed["石玛镇人民政府"][0] is None  # not assumed to be 石马镇
    assert by_typed["长兴街道"][:2] == ("长兴街道办事处", "乡镇街道")
    assert by_typed["长兴街道"][9].startswith("名称与名单略有不同（名单：长兴街道办事处）")
    assert by_typed["某某县气象局"][6] == "已纳入·名单外"

    # the comment on every summary cell says the same
    cell = load_form("2021").cells["t2.new.total"]
    comment = wb[cell.sheet][cell.ref].comment.text
    assert "未报送（1）：某某县统计局" in comment
    assert f"名称不符待确认（1，已计入）：石玛镇人民政府（{near}）" in comment
    assert "石马镇人民政府" not in comment.split("\n")[1]  # the 未报送 line


def test_levels_add_up_to_the_county_with_an_unlisted_column(tmp_path: Path) -> None:
    d, roster, values = _county(tmp_path)
    result = consolidate([d], roster=roster, jobs=1)
    out = write_summary(result, tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(out)["分级汇总"]
    head = [c.value for c in ws[1]]
    assert head == ["单元格编号", "表", "行", "列", "本级", "乡镇街道", "未列入名单", "全县"]
    assert ws.max_row == 1 + len(load_form("2021").cells)
    for row in ws.iter_rows(min_row=2, values_only=True):
        own, town, unlisted, whole = row[4:8]
        assert own + town + unlisted == pytest.approx(whole), row[0]
    by_id = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    # the near-named 石玛镇 and the unlisted 气象局 are neither 本级 nor 乡镇街道 until confirmed
    assert by_id["t2.new.total"][6] == values["石玛镇人民政府"]["t2.new.total"] + values["某某县气象局"]["t2.new.total"]
    assert by_id["t2.new.total"][5] == values["长兴街道"]["t2.new.total"]


def test_a_roster_agency_whose_file_was_left_out_is_not_proposed_for_another(tmp_path: Path) -> None:
    d, roster, _ = _county(tmp_path)
    form = load_form("2019")
    fill_workbook(build_template(form), form, {}, {"hdr.agency": "某某县统计局", "hdr.year": 2019}).save(d / "old.xlsx")
    result = consolidate([d], roster=roster, jobs=1, form="2021")
    (who, note), = result.missing
    assert who.name == "某某县统计局" and note.startswith("有文件但未纳入：表式版本不同")
    rows = list(openpyxl.load_workbook(write_summary(result, tmp_path / "s.xlsx"))["报送情况"]
                .iter_rows(min_row=3, values_only=True))
    old = next(r for r in rows if r[2] == "old.xlsx")
    assert old[0] == "某某县统计局" and old[6] == "未纳入" and old[9].startswith("计为未报送：")
    assert not any(r[6] == "未报送" for r in rows)  # shown once, on its file's row


def test_an_agency_without_a_level_on_the_roster_has_its_own_column(tmp_path: Path) -> None:
    d, roster, values = _county(tmp_path)
    roster.write_text(roster.read_text(encoding="utf-8").replace("某某县财政局,县本级", "某某县财政局,"),
                      encoding="utf-8")
    result = consolidate([d], roster=roster, jobs=1)
    ws = openpyxl.load_workbook(write_summary(result, tmp_path / "s.xlsx"))["分级汇总"]
    assert [c.value for c in ws[1]][4:] == ["本级", "乡镇街道", "未列入名单", "名单未填层级", "全县"]
    for row in ws.iter_rows(min_row=2, values_only=True):
        assert sum(row[4:8]) == pytest.approx(row[8]), row[0]
    by_id = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert by_id["t1.rules.issued"][7] == values["某某县财政局"]["t1.rules.issued"]
