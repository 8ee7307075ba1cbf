"""Parent vs children: ``gkreport compare`` names every cell where parent ≠ Σ children and the missing children."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkreport.commands.cli import main as cli_main
from gkreport.consolidation.compare import compare
from gkreport.core.report import report_from_raw
from gkreport.output.fill import write_filled
from gkreport.publish import publish
from test_rollup import FORM, mk, total, write_agency, write_county


def run(*argv: str) -> int:
    return cli_main(["compare", *argv, "--jobs", "1"])


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """Three agencies of 甲县 (in a sub-folder, as clerks file them) and their values."""
    d = tmp_path_factory.mktemp("children")
    agencies = write_county(d / "各单位", "甲县", [11, 12]) | write_county(d / "各单位" / "乡镇", "甲县东", [13])
    return d / "各单位", agencies


def _ints(values: dict[str, float]) -> dict[str, object]:
    return {cid: int(v) if float(v).is_integer() else round(v, 2) for cid, v in values.items()}


def test_published_parent_differences_and_missing_children(county, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    children, agencies = county
    parent_values = _ints(total(agencies))
    parent_values["t2.granted.person"] = int(parent_values["t2.granted.person"]) + 3  # retyped wrong
    sums = total(agencies)
    blank = next(cid for cid in FORM.cells if cid.startswith("t1.") and sums[cid] >= 1 and float(sums[cid]).is_integer())
    parent_values[blank] = None  # left blank in the published report
    parent = tmp_path / "甲县2023年报.docx"
    publish(report_from_raw(FORM, parent_values, {"hdr.agency": "甲县人民政府", "hdr.year": 2023}), parent)
    roster = tmp_path / "名单.csv"
    roster.write_text("单位名称\n" + "".join(f"{n}\n" for n in agencies) + "甲县审计局\n", encoding="utf-8")
    out = tmp_path / "差异.xlsx"

    assert run(str(parent), str(children), "--roster", str(roster), "-o", str(out)) == 1
    text = capsys.readouterr().out
    assert "缺少：甲县审计局（名单中有，未收到其报表）" in text
    assert "2 个数据格不等于下级之和" in text
    granted = FORM.cells["t2.granted.person"]
    expected_sum = int(total(agencies)["t2.granted.person"])
    assert (f"表二｜{granted.row_label}｜{granted.col_label}（'{granted.sheet}'!{granted.ref}）："
            f"上级 {expected_sum + 3}，下级合计 {expected_sum}，差 +3") in text

    assert run(str(parent), str(children), "--roster", str(roster), "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    diffs = {d["cell_id"]: d for d in doc["differences"]}
    assert set(diffs) == {"t2.granted.person", blank}
    assert diffs["t2.granted.person"]["parent"] == expected_sum + 3
    assert diffs["t2.granted.person"]["children"] == expected_sum
    assert diffs[blank]["parent"] is None and diffs[blank]["parent_text"] == ""
    assert diffs[blank]["difference"] == -sums[blank]
    assert doc["missing"] == [{"name": "甲县审计局", "note": "未报送"}]
    assert doc["compared"] == len(FORM.cells)

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["差异", "下级明细", "缺少的下级"]
    rows = list(wb["差异"].iter_rows(min_row=3, values_only=True))
    by_id = {r[7]: r for r in rows}
    assert by_id["t2.granted.person"][3:7] == (f"'{granted.sheet}'!{granted.ref}", expected_sum + 3,
                                               expected_sum, 3)
    detail = {r[0]: r[1:] for r in wb["下级明细"].iter_rows(min_row=2, values_only=True)}
    column = [c.value for c in wb["下级明细"][1]].index(next(
        c.value for c in wb["下级明细"][1] if c.value and granted.ref in str(c.value))) - 1
    assert detail["下级合计"][column] == expected_sum and detail["上级报表"][column] == expected_sum + 3
    assert sum(detail[n][column] for n in agencies) == expected_sum
    assert [r[0] for r in wb["缺少的下级"].iter_rows(min_row=2, values_only=True)] == ["甲县审计局"]


def test_equal_parent_and_a_roster_of_counties(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A city's roster lists counties; their summaries are the children."""
    everyone = {}
    for name, seeds in (("甲县", [1]), ("乙县", [2, 3])):
        everyone |= write_county(tmp_path / name, name, seeds)
        assert cli_main(["consolidate", str(tmp_path / name), "-o", str(tmp_path / "县" / f"{name}.xlsx"),
                         "--region", name, "--jobs", "1"]) == 0
    parent = tmp_path / "某市.xlsx"
    write_filled(FORM, parent, _ints(total(everyone)), {"hdr.agency": "某市人民政府", "hdr.year": 2023})
    roster = tmp_path / "县名单.csv"
    roster.write_text("单位名称\n甲县\n乙县\n", encoding="utf-8")
    capsys.readouterr()
    assert run(str(parent), str(tmp_path / "县"), "--roster", str(roster)) == 0
    assert f"{len(FORM.cells)} 个数据格全部等于下级之和" in capsys.readouterr().out
    roster.write_text("单位名称\n甲县\n乙县\n丙县\n", encoding="utf-8")
    assert run(str(parent), str(tmp_path / "县"), "--roster", str(roster)) == 1
    assert "缺少：丙县" in capsys.readouterr().out


def test_wrong_calls_exit_2(county, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    children, agencies = county
    inside = tmp_path / "各单位"
    shutil.copytree(children, inside)
    parent = write_agency(inside, "甲县人民政府", "甲县", _ints(total(agencies)))
    assert run(str(parent), str(inside)) == 2
    assert "在下级报表之中" in capsys.readouterr().err
    assert run(str(tmp_path / "无此文件.xlsx"), str(children)) == 2
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    assert run(str(bad), str(children)) == 2
    out = tmp_path / "已有.xlsx"
    out.write_bytes(b"x")
    assert run(str(parent), str(children), "-o", str(out)) == 2
    assert out.read_bytes() == b"x"


_CHILDREN: dict[str, tuple[Path, dict[str, dict]]] = {}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(sorted(FORM.cells)), st.one_of(st.integers(1, 50), st.none()),
                               max_size=6),
       bad=st.sampled_from(["5-", "", "很多"]))
def test_exactly_the_changed_cells_are_reported(county, tmp_path_factory: pytest.TempPathFactory,
                                                 changes: dict[str, int | None], bad: str) -> None:
    """Cells raised by a number or left blank are reported with their difference; a cell that
    is not a number is listed as not compared, never taken as 0."""
    children, agencies = county
    sums = total(agencies)
    values = _ints(sums)
    expected = {}
    for cid, delta in changes.items():
        values[cid] = None if delta is None else round(sums[cid] + delta, 2)
        if delta is not None or sums[cid]:
            expected[cid] = delta if delta is not None else -sums[cid]
    if bad:
        values["t1.rules.issued"] = bad
        expected.pop("t1.rules.issued", None)
    parent = tmp_path_factory.mktemp("parent") / "上级.xlsx"
    write_filled(FORM, parent, values, {"hdr.agency": "甲县", "hdr.year": 2023})
    c = compare(parent, [children], jobs=1)
    assert {d.cell_id: d.difference for d in c.differences} == pytest.approx(expected)
    assert list(c.uncompared) == (["t1.rules.issued"] if bad else [])
    assert not c.missing and not c.left_out
    assert sorted(c.frame.index) == sorted(agencies)


def test_children_of_another_year_are_left_out_and_named(county, tmp_path: Path) -> None:
    children, agencies = county
    d = tmp_path / "下级"
    shutil.copytree(children, d)
    fill = mk.agency_values(FORM, random.Random(5))
    path = write_agency(d, "甲县统计局", "甲县", fill)
    wb = openpyxl.load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names["hdr.year"].destinations)
    wb[sheet][ref.replace("$", "")] = 2022
    wb.save(path)
    parent = tmp_path / "上级.xlsx"
    write_filled(FORM, parent, _ints(total(agencies)), {"hdr.agency": "甲县", "hdr.year": 2023})
    c = compare(parent, [d], jobs=1)
    assert not c.differences
    assert [e.file for e in c.left_out] == ["甲县统计局.xlsx"] and "2022" in c.left_out[0].reason


def test_help_has_examples_and_exit_codes_and_pandas_loads_only_when_comparing() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "gkreport.commands.cli", "compare", "--help"], capture_output=True,
                       text=True, encoding="utf-8", timeout=60)
    assert r.returncode == 0
    assert "gkreport compare 某某市2023年报.docx 各县年报/" in r.stdout and "  2 = 有文件无法读取或写入" in r.stdout
    code = ("import sys; from gkreport.commands.cli import build_parser; build_parser(); import gkreport.consolidation.consolidate; "
            "print('pandas' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr
