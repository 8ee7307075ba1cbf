"""The Python interface (gkreport.api): the same findings and sums as the command line, as pandas frames."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gkreport
from conftest import REAL_REPORTS, make_filled
from gkreport import api
from gkreport.consolidation import consolidate as consolidate_module
from gkreport.consolidation.consolidate_model import Consolidation, FileEntry, FileSummary, pack_values
from gkreport.core.exits import UsageError
from gkreport.core.forms import load_form
from gkreport.core.forms_meta import form_meta
from gkreport.readers import ReadError


def _county(folder: Path) -> dict[str, Path]:
    """Four agencies of 2023 (one with a blank cell, one with a broken identity) and one of 2022."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    folder.mkdir()
    made = {}
    for i, agency in enumerate(["甲县财政局", "甲县教育局", "甲县某镇人民政府", "甲县卫健委"]):
        v = {**values, "t2.new.person": values["t2.new.person"] + i}
        v["t2.new.total"] += i
        if i == 1:
            v["t1.fee.amount"] = None  # left blank
        if i == 3:
            v["t2.new.total"] += 5  # a total that does not add up
        made[agency] = make_filled(folder, f"{i}.xlsx", "2021", v, {**header, "hdr.agency": agency})
    made["other-year"] = make_filled(folder, "old.xlsx", "2021", values,
                                     {**header, "hdr.agency": "甲县旧局", "hdr.year": 2022})
    return made


def _cli_findings(path: Path, *options: str) -> list[dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", "gkreport", "check", "--json", str(path), *options],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    (result,) = json.loads(done.stdout)
    findings: list[dict[str, object]] = result["findings"]
    return findings


def test_read_and_check_give_the_findings_of_check_json(tmp_path: Path) -> None:
    files = _county(tmp_path / "county")
    wrong = files["甲县卫健委"]
    report = gkreport.read(wrong)
    assert report.agency == "甲县卫健委" and report.year == 2023 and report.form.version == "2021"
    findings = gkreport.check(wrong)
    assert any(f.severity == "error" for f in findings)
    assert [f.to_dict() for f in findings] == _cli_findings(wrong)
    assert [f.to_dict() for f in gkreport.check(report)] == [f.to_dict() for f in findings]
    clean = files["甲县财政局"]
    assert [f.to_dict() for f in gkreport.check(str(clean))] == _cli_findings(clean)


def test_previous_enables_cross_year_rules_and_an_unreadable_one_is_a_usage_error(tmp_path: Path) -> None:
    files = _county(tmp_path / "county")
    with_previous = gkreport.check(files["甲县财政局"], previous=files["other-year"])
    alone = gkreport.check(files["甲县财政局"])
    assert "T1-in-force" in {f.rule for f in with_previous} - {f.rule for f in alone}
    assert ([f.to_dict() for f in with_previous]
            == _cli_findings(files["甲县财政局"], "--previous", str(files["other-year"])))
    with pytest.raises(UsageError, match=r"上一年度报告 .* 无法读取：文件不存在"):
        gkreport.check(files["甲县财政局"], previous=tmp_path / "none.xlsx")


def test_a_bad_path_is_a_read_error_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="文件不存在"):
        gkreport.read(tmp_path / "missing.xlsx")
    with pytest.raises(ReadError, match="文件夹"):
        gkreport.check(tmp_path)


def test_agencies_frame_adds_up_to_the_summary_with_the_official_labels(tmp_path: Path) -> None:
    files = _county(tmp_path / "county")
    result = api.consolidate(tmp_path / "county", year=2023)
    assert result is not None and result.form is not None and len(result.included) == 4
    frame = api.agencies_frame(result)
    assert len(frame) == 4
    assert sorted(frame["agency"]) == sorted(a for a in files if a != "other-year")
    assert list(frame.columns[:7].get_level_values(0)) == list(api.META_COLUMNS)

    form, meta = load_form("2021"), form_meta(load_form("2021"))
    data = frame.iloc[:, 7:]
    assert len(data.columns) == len(form.cells)
    for (table, row, col), cell in zip(data.columns, form.cells.values(), strict=True):
        assert (table, row, col) == (meta.table_name(cell.table), cell.row_label, cell.col_label)
    assert {t for t, _, _ in data.columns} == {"表一", "表二", "表三"}

    sums = data.sum(axis=0, skipna=True)
    for (column, total), cid in zip(sums.items(), form.cells, strict=True):
        assert total == pytest.approx(result.sums[cid], abs=1e-6), (column, cid)

    # The blank cell is NaN in its agency's row, not a zero.
    amount = form.cells["t1.fee.amount"]
    blank = frame.set_index(frame["agency"])[(meta.table_name(amount.table), amount.row_label, amount.col_label)]
    assert math.isnan(blank["甲县教育局"]) and not math.isnan(blank["甲县财政局"])
    wrong = frame[frame["agency"] == "甲县卫健委"]
    assert int(wrong["errors"].iloc[0]) >= 1


def test_agencies_frame_can_list_the_files_left_out(tmp_path: Path) -> None:
    _county(tmp_path / "county")
    (tmp_path / "county" / "broken.xlsx").write_bytes(b"not a workbook")
    result = api.consolidate([str(tmp_path / "county")], year=2023)
    frame = api.agencies_frame(result, include_excluded=True)
    assert len(frame) == 6 and int(frame["included"].sum()) == 4
    left_out = frame[~frame["included"].astype(bool)]
    assert sorted(Path(p).name for p in left_out["file"]) == ["broken.xlsx", "old.xlsx"]
    broken = frame[frame["file"].str.endswith("broken.xlsx")].iloc[0, 8:]
    assert broken.isna().all()


def _cli_consolidate_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The message ``gkreport consolidate`` ends with when it refuses (exit code 2)."""
    from gkreport.commands.cli import main

    capsys.readouterr()
    assert main(["consolidate", *argv, "--jobs", "1"]) == 2
    return capsys.readouterr().err


def test_a_missing_roster_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"名单文件 .* 不存在"):
        api.consolidate(tmp_path, roster=tmp_path / "名单.xlsx")


def test_no_summable_report_raises_the_command_lines_error(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "county"
    folder.mkdir()
    (folder / "broken.xlsx").write_bytes(b"not a workbook")
    for target in (tmp_path / "nowhere", folder):
        with pytest.raises(api.NothingToSum) as raised:
            api.consolidate(target)
        assert isinstance(raised.value, UsageError)  # exit code 2 on the command line
        message = str(raised.value)
        assert message == "没有可以汇总的报表"
        assert message in _cli_consolidate_error(capsys, str(target), "-o", str(tmp_path / "out.xlsx"))
        (entry,) = raised.value.result.entries  # the reason, file by file, for a script to list
        assert not entry.included and entry.reason
    assert not (tmp_path / "out.xlsx").exists()
    with pytest.raises(api.NothingToSum) as raised:
        api.consolidate(tmp_path / "nowhere")
    assert [e.reason for e in raised.value.result.entries] == ["文件不存在"]


def test_double_counting_raises_the_command_lines_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gkreport.commands.cli import main
    from gkreport.consolidation.rollup import DoubleCounting

    files = _county(tmp_path / "county")
    city = tmp_path / "city"
    city.mkdir()
    assert main(["consolidate", str(tmp_path / "county"), "-o", str(city / "甲县汇总.xlsx"), "--region", "甲县",
                 "--year", "2023", "--jobs", "1"]) in (0, 1)
    (city / "own.xlsx").write_bytes(files["甲县财政局"].read_bytes())  # also counted in 甲县汇总.xlsx
    with pytest.raises(DoubleCounting) as raised:
        api.consolidate(city, year=2023)
    assert isinstance(raised.value, UsageError)
    assert "“甲县财政局”同时在" in str(raised.value) and "重复计算" in str(raised.value)
    cli = _cli_consolidate_error(capsys, str(city), "-o", str(tmp_path / "市汇总.xlsx"), "--year", "2023")
    assert str(raised.value) in cli


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(sorted(load_form("2019").cells)),
                                st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False)),
                                max_size=30), min_size=1, max_size=6))
def test_agencies_frame_always_adds_up_to_the_sums(agencies: list[dict[str, float | int | None]]) -> None:
    """For any numbers and blanks, the frame's columns add up to what consolidation summed."""
    form = load_form("2019")
    entries = []
    for i, cells in enumerate(agencies):
        values = {c: v for c, v in cells.items() if v}
        summary = FileSummary(path=f"{i}.xlsx", ok=True, agency=f"单位{i}", year=2020, form="2019",
                              values=pack_values(form, values), blanks=[c for c, v in cells.items() if v is None])
        entries.append(FileEntry(summary, included=True, name=f"单位{i}"))
    result = Consolidation(form=form, year=2020, entries=entries)
    consolidate_module._sum(result, form)
    sums = api.agencies_frame(result).iloc[:, len(api.META_COLUMNS):].sum(axis=0)
    assert list(sums) == pytest.approx([result.sums[c] for c in form.cells], abs=1e-6)


def test_findings_frame_has_one_row_per_finding(tmp_path: Path) -> None:
    files = _county(tmp_path / "county")
    findings = gkreport.check(files["甲县卫健委"])
    frame = api.findings_frame(findings)
    assert list(frame.columns) == list(api.FINDING_COLUMNS) and len(frame) == len(findings)
    for row, f in zip(frame.itertuples(index=False), findings, strict=True):
        assert (row.rule, row.severity, row.sheet, row.message) == (f.rule, f.severity, f.sheet, f.message)
        assert row.cell == (f.suspects or f.cells or (None,))[0]
        assert (row.suggested == f.suggested) or (f.suggested is None and pd.isna(row.suggested))

    result = api.consolidate(tmp_path / "county", year=2023)
    frame = api.findings_frame(result)
    expected = [(e.name, d["rule"], d["message"]) for e in result.entries for d in e.summary.findings]
    expected += [("汇总", f.rule, f.message) for f in result.summary_findings]
    assert list(zip(frame["agency"], frame["rule"], frame["message"], strict=True)) == expected
    assert "甲县卫健委" in set(frame["agency"]) and len(frame) > 0


def test_the_package_exposes_read_and_check() -> None:
    assert gkreport.read is api.read and gkreport.check is api.check
    from gkreport.consolidation import (
        consolidate as module,  # the module keeps its name; the function is api.consolidate
    )

    assert callable(module.consolidate) and not callable(module)
    with pytest.raises(AttributeError):
        gkreport.no_such_name  # noqa: B018


def test_import_gkreport_loads_no_heavy_library() -> None:
    code = ("import sys, gkreport; heavy = ('pandas', 'openpyxl', 'numpy', 'gkreport.core.engine', 'gkreport.api'); "
            "print([m for m in heavy if m in sys.modules]); gkreport.read; "
            "print('gkreport.api' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["[]", "True False"]
