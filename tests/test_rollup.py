"""Multi-level roll-up: county summaries as inputs one level up (agencies → county → city → province)."""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_agencies
from gkreport.commands.cli import main as cli_main
from gkreport.consolidation.consolidate import consolidate
from gkreport.consolidation.rollup import MANIFEST_SHEET, read_manifest
from gkreport.core.forms import load_form
from gkreport.output.fill import fill_workbook
from gkreport.output.template import build_template
from gkreport.readers.ooxml import sheet_parts

FORM = load_form("2021")
_TEMPLATE = build_template(FORM)  # refilled for every agency (as make_agencies does)


mk = make_agencies()


def write_agency(folder: Path, name: str, region: str, values: dict, *, file: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fill_workbook(_TEMPLATE, FORM, values, {"hdr.agency": name, "hdr.region": region, "hdr.year": 2023,
                                            "hdr.date": "2024-01-20"})
    path = folder / (file or f"{name}.xlsx")
    _TEMPLATE.save(path)
    return path


def write_county(folder: Path, county: str, seeds: list[int]) -> dict[str, dict]:
    """Agencies of one county (names carry the county, 所属地区 is the county): name -> values."""
    out = {}
    for i, seed in enumerate(seeds):
        name = f"{county}{mk.DEPARTMENTS[i % len(mk.DEPARTMENTS)]}"
        values = mk.agency_values(FORM, random.Random(seed))
        write_agency(folder, name, county, values)
        out[name] = values
    return out


def run(*argv: str) -> int:
    return cli_main(["consolidate", *argv, "--jobs", "1"])


def by_name(path: Path, name: str) -> object:
    wb = openpyxl.load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")].value


def cells(path: Path) -> dict[str, object]:
    wb = openpyxl.load_workbook(path)
    out = {}
    for cid in FORM.cells:
        ((sheet, ref),) = list(wb.defined_names[cid].destinations)
        out[cid] = wb[sheet][ref.replace("$", "")].value
    return out


def total(agencies: dict[str, dict]) -> dict[str, float]:
    return {cid: sum(float(v.get(cid) or 0) for v in agencies.values()) for cid in FORM.cells}


# ---------------------------------------------------------------------------- three levels


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.lists(st.lists(st.integers(0, 10**6), min_size=1, max_size=2), min_size=1, max_size=2),
                      min_size=2, max_size=2),
       city_own=st.lists(st.integers(0, 10**6), max_size=1))
def test_three_levels_equal_the_sum_of_every_agency(tmp_path_factory: pytest.TempPathFactory,
                                                    shape: list[list[list[int]]], city_own: list[int]) -> None:
    """agencies → counties → cities → province: the province's cells are the agencies' sums,
    cell for cell; its manifest lists every agency once, with the chain it came through."""
    root = tmp_path_factory.mktemp("levels")
    everyone: dict[str, dict] = {}
    province_in = root / "省"
    for c, city in enumerate(shape):
        city_name = f"第{c + 1}市"
        city_in = root / city_name
        for k, seeds in enumerate(city):
            county = f"{city_name}第{k + 1}县"
            everyone |= write_county(root / county, county, seeds)
            assert run(str(root / county), "-o", str(city_in / f"{county}汇总.xlsx"), "--region", county) == 0
        if c == 0 and city_own:  # a mixed folder: the city's own agencies beside its counties' summaries
            everyone |= write_county(city_in, f"{city_name}本级", city_own)
        assert run(str(city_in), "-o", str(province_in / f"{city_name}汇总.xlsx"), "--region", city_name) == 0
    out = root / "全省汇总.xlsx"
    assert run(str(province_in), "-o", str(out), "--region", "某省") == 0
    expected = total(everyone)
    got = cells(out)
    for cid in FORM.cells:
        assert got[cid] == pytest.approx(expected[cid]), cid
    m = read_manifest(out)
    assert m is not None and m.region == "某省"
    assert sorted(a.name for a in m.counted) == sorted(everyone)
    county_agency = next(a for a in m.counted if "第2县" in a.name or "第1县" in a.name)
    assert county_agency.via.startswith("第") and "／" in county_agency.via  # city／county
    assert by_name(out, "hdr.region") == "某省"
    assert f"共 {len(everyone)} 个单位" in str(by_name(out, "hdr.agency"))


# ---------------------------------------------------------------------------- double counting


@pytest.fixture
def two_counties(tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    everyone = write_county(tmp_path / "甲县", "甲县", [1, 2]) | write_county(tmp_path / "乙县", "乙县", [3, 4])
    return tmp_path, everyone


def test_an_agency_in_two_county_summaries_is_refused(two_counties, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = two_counties
    stray = root / "甲县" / "甲县财政局.xlsx"
    shutil.copy(stray, root / "乙县" / "甲县财政局.xlsx")  # the same report filed in two counties
    for county in ("甲县", "乙县"):
        assert run(str(root / county), "-o", str(root / "市" / f"{county}汇总.xlsx"), "--region", county) == 0
    capsys.readouterr()
    out = root / "市汇总.xlsx"
    assert run(str(root / "市"), "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert "“甲县财政局”同时在" in err and "甲县汇总.xlsx" in err and "乙县汇总.xlsx" in err and "（数据相同）" in err
    assert not out.exists()


def test_an_agency_in_a_county_summary_and_its_own_report_is_refused(two_counties,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = two_counties
    for county in ("甲县", "乙县"):
        assert run(str(root / county), "-o", str(root / "市" / f"{county}汇总.xlsx"), "--region", county) == 0
    # the agency's corrected report also sent to the city: another fingerprint, the same agency
    values = mk.agency_values(FORM, random.Random(99))
    write_agency(root / "市", "甲县财政局", "", values, file="甲县财政局-更正.xlsx")
    capsys.readouterr()
    assert run(str(root / "市"), "-o", str(root / "市汇总.xlsx")) == 2
    err = capsys.readouterr().err
    assert "单位报表 甲县财政局-更正.xlsx" in err and "甲县的汇总表 甲县汇总.xlsx" in err
    with pytest.raises(Exception, match="重复计算"):
        consolidate([root / "市"], jobs=1)


def test_same_names_in_two_regions_with_other_data_are_two_agencies(tmp_path: Path) -> None:
    """财政局 of 甲县 and 财政局 of 乙县, named alike: their regions tell them apart."""
    a = write_county(tmp_path / "甲县", "", [5])  # named plain 财政局, 所属地区 blank
    b = write_county(tmp_path / "乙县", "", [6])
    assert list(a) == list(b) == ["财政局"]
    for county in ("甲县", "乙县"):
        assert run(str(tmp_path / county), "-o", str(tmp_path / "市" / f"{county}.xlsx"), "--region", county) == 0
    out = tmp_path / "市.xlsx"
    assert run(str(tmp_path / "市"), "-o", str(out)) == 0
    expected = {cid: float(a["财政局"].get(cid) or 0) + float(b["财政局"].get(cid) or 0) for cid in FORM.cells}
    assert cells(out) == pytest.approx(expected)


# ---------------------------------------------------------------------------- mixed folders, status, roster


def test_mixed_folder_lists_each_county_with_its_agencies(two_counties, capsys: pytest.CaptureFixture[str]) -> None:
    root, everyone = two_counties
    for county in ("甲县", "乙县"):
        assert run(str(root / county), "-o", str(root / "市" / f"{county}汇总.xlsx"), "--region", county) == 0
    everyone |= write_county(root / "市", "某市", [7, 8])  # the city's own departments
    roster = root / "名单.csv"
    roster.write_text("单位名称,层级\n甲县,县\n乙县,县\n丙县,县\n某市财政局,本级\n某市教育局,本级\n", encoding="utf-8")
    out = root / "市汇总.xlsx"
    capsys.readouterr()
    assert run(str(root / "市"), "-o", str(out), "--roster", str(roster), "--region", "某市") == 0
    text = capsys.readouterr().out
    assert "纳入 2 个地区的汇总表，共含 6 个单位" in text
    assert "未报送：丙县" in text
    got = cells(out)
    expected = total(everyone)
    for cid in FORM.cells:
        assert got[cid] == pytest.approx(expected[cid]), cid
    wb = openpyxl.load_workbook(out)
    assert wb[MANIFEST_SHEET].sheet_state == "veryHidden"
    rows = {r[0]: r for r in wb["报送情况"].iter_rows(min_row=3, values_only=True)}
    assert rows["甲县"][2] == "甲县汇总.xlsx" and "地区汇总表（甲县）：含 2 个单位" in rows["甲县"][9]
    assert rows["丙县"][6] == "未报送"
    assert rows["某市财政局"][6] == "已纳入"
    m = read_manifest(out)
    assert m is not None and {a.name for a in m.missing} == {"丙县"}
    # --json names what each summary contains
    capsys.readouterr()
    assert run(str(root / "市"), "-o", str(out), "--force", "--json", "--region", "某市") == 0
    doc = json.loads(capsys.readouterr().out)
    kids = {f["name"]: f["summary_of"] for f in doc["files"] if f["summary_of"]}
    assert sorted(kids["甲县"]["agencies"]) == ["甲县教育局", "甲县财政局"] and doc["region"] == "某市"


def test_this_regions_older_summary_is_skipped_even_after_a_rename(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "甲县"
    agencies = write_county(d, "甲县", [1, 2, 3])
    first = d / "汇总.xlsx"
    assert run(str(d), "-o", str(first)) == 0
    assert by_name(first, "hdr.region") == "甲县"
    shutil.copy(first, d / "上周的汇总.xlsx")
    (d / "甲县公安局.xlsx").rename(d / "x.xlsx")
    values = agencies.pop("甲县公安局")
    write_agency(d, "甲县公安分局", "甲县", values)  # the name corrected since
    (d / "x.xlsx").unlink()
    agencies["甲县公安分局"] = values
    capsys.readouterr()
    assert run(str(d), "-o", str(first), "--force") == 0
    text = capsys.readouterr().out
    assert "上周的汇总.xlsx：这是本工具生成的汇总表（本地区（甲县）以前生成的汇总表" in text
    expected = total(agencies)
    assert cells(first) == pytest.approx(expected)


def test_a_summary_without_manifest_or_edited_by_hand(two_counties, capsys: pytest.CaptureFixture[str]) -> None:
    root, everyone = two_counties
    for county in ("甲县", "乙县"):
        assert run(str(root / county), "-o", str(root / "市" / f"{county}汇总.xlsx"), "--region", county) == 0
    # 乙县's summary edited by hand: still summed, with a warning; 甲县's without its manifest: skipped
    path = root / "市" / "乙县汇总.xlsx"
    wb = openpyxl.load_workbook(path)
    cell = FORM.cells["t2.new.person"]
    wb[cell.sheet][cell.ref] = int(wb[cell.sheet][cell.ref].value or 0) + 1
    wb.save(path)
    old = root / "市" / "甲县汇总.xlsx"
    wb = openpyxl.load_workbook(old)
    del wb[MANIFEST_SHEET]
    wb.save(old)
    result = consolidate([root / "市"], jobs=1)
    (kid,) = result.included
    assert any(f["rule"] == "summary-edited" and "改动过" in f["message"] for f in kid.summary.findings)
    (left,) = [e for e in result.entries if not e.included]
    assert "没有单位清单" in left.reason
    assert result.sums["t2.new.person"] == total({k: v for k, v in everyone.items() if k.startswith("乙")})[
        "t2.new.person"] + 1


def test_manifest_text_stays_text(tmp_path: Path) -> None:
    write_agency(tmp_path / "县", "=HYPERLINK(\"x\")", "=1+1", mk.agency_values(FORM, random.Random(1)))
    out = tmp_path / "s.xlsx"
    assert run(str(tmp_path / "县"), "-o", str(out)) == 0
    with zipfile.ZipFile(out) as zf:
        xml = zf.read(sheet_parts(zf)[MANIFEST_SHEET])
    assert b"<f>" not in xml and b"HYPERLINK" in xml
    m = read_manifest(out)
    assert m is not None and m.counted[0].typed == "=HYPERLINK(\"x\")" and m.region == "=1+1"


def test_a_county_summary_with_errors_gets_a_notice_addressed_to_the_county(tmp_path: Path) -> None:
    from gkreport.output.notices import write_consolidation_notices

    values = mk.agency_values(FORM, random.Random(1))
    mk.plant_error(values, random.Random(2))
    write_agency(tmp_path / "庚县", "庚县财政局", "庚县", values)
    assert run(str(tmp_path / "庚县"), "-o", str(tmp_path / "市" / "庚县汇总.xlsx")) == 1
    result = consolidate([tmp_path / "市"], jobs=1)
    (kid,) = result.included
    assert kid.name == "庚县" and kid.summary.counts["error"] > 0
    written = write_consolidation_notices(result, tmp_path / "通知")
    assert [p.name for p in written] == ["庚县-退回修改通知.docx"]


def test_the_ribbon_says_double_counting_in_chinese_without_a_log(two_counties, monkeypatch: pytest.MonkeyPatch,
                                                                   excel_log: Path) -> None:
    """汇总 in Excel on a city folder where one agency is in two county summaries: an information
    box with the same sentence as the command line, not an "internal error" with a type name."""
    from gkreport.addin import excel, excel_app

    root, _ = two_counties
    shutil.copy(root / "甲县" / "甲县财政局.xlsx", root / "乙县" / "甲县财政局.xlsx")
    for county in ("甲县", "乙县"):
        assert run(str(root / county), "-o", str(root / "市" / f"{county}汇总.xlsx"), "--region", county) == 0
    seen: list[tuple[str, dict]] = []

    class App:
        def alert(self, text: str, **kwargs: object) -> None:
            seen.append((text, kwargs))

    monkeypatch.setattr(excel_app, "_any_app", lambda: App())
    monkeypatch.setattr(excel_app, "_check_versions_once", lambda book: None)
    assert excel.consolidate_folder(None, folder=root / "市") is None
    (text, kwargs), = seen
    assert "“甲县财政局”同时在" in text and "操作未能完成" not in text and "DoubleCounting" not in text
    assert kwargs.get("mode") == "info"
    assert not excel_log.exists()
    assert {p.name for p in (root / "市").iterdir()} == {"甲县汇总.xlsx", "乙县汇总.xlsx"}  # no summary written
