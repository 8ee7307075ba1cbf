"""The template workbook: committed files up to date, names, protection, validation, live checks."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import lo_convert, make_filled
from gkreport.core import addresses as addr
from gkreport.core.forms import load_form
from gkreport.core.resources import data_dir
from gkreport.output.template import FAIL_MARK, PASS_MARK, build_template, live_checks, template_filename


def _members(data: bytes) -> dict[str, bytes]:
    """Zip members by name; openpyxl stamps the save time into core.xml, so skip it."""
    z = zipfile.ZipFile(io.BytesIO(data))
    return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_committed_template_is_current(version: str) -> None:
    committed = data_dir("templates") / template_filename(version)
    buf = io.BytesIO()
    build_template(load_form(version)).save(buf)
    hint = f"run: gkreport template --form {version} -o templates/{committed.name} --force"
    assert _members(committed.read_bytes()) == _members(buf.getvalue()), f"{committed.name} is stale; {hint}"


def test_cli_template_default_is_2021_and_refuses_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    run = [sys.executable, "-m", "gkreport.commands.cli", "template", "-o", str(out)]
    assert subprocess.run(run, capture_output=True).returncode == 0
    wb = openpyxl.load_workbook(out)
    assert wb["基本信息"]["B7"].value == "2021"
    second = subprocess.run(run, capture_output=True, text=True, encoding="utf-8")
    assert second.returncode == 2
    assert "已存在" in second.stderr


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_every_defined_name_resolves_to_its_cell(version: str) -> None:
    form = load_form(version)
    wb = openpyxl.load_workbook(data_dir("templates") / template_filename(version))
    expected = {cid: (c.sheet, c.ref) for cid, c in form.cells.items()}
    expected |= {h.id: (h.sheet, h.cell) for h in form.header}
    got = {}
    for name, dn in wb.defined_names.items():
        (sheet, ref), = list(dn.destinations)
        got[name] = (sheet, ref.replace("$", ""))
    assert got == expected


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_labels_locked_inputs_unlocked_validated(version: str) -> None:
    form = load_form(version)
    wb = openpyxl.load_workbook(data_dir("templates") / template_filename(version))
    for table in form.tables:
        ws = wb[table.sheet]
        assert ws.protection.sheet is True
        assert not ws.protection.password
        for lab in table.labels:
            cell = ws[lab.range.split(":")[0]]
            assert cell.value == lab.text
            assert cell.protection.locked is True
        validated = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                for col, row in addr.cells_in(rng.coord):
                    validated[addr.make_ref(col, row)] = dv
        for cid in table.cell_ids:
            cell = form.cells[cid]
            c = ws[cell.ref]
            assert c.protection.locked is False, cid
            assert c.value is None, "inputs start blank"
            dv = validated[cell.ref]
            assert dv.type == {"count": "whole", "signed": "whole", "amount": "decimal"}[cell.type]
            assert dv.prompt and dv.error
    header = wb[form.header_sheet]
    for h in form.header:
        assert header[h.cell].protection.locked is (h.fixed is not None)


def test_print_setup() -> None:
    wb = openpyxl.load_workbook(data_dir("templates") / template_filename("2021"))
    ws = wb["表二 依申请公开"]
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$4:$6"


def _check_values(path: Path, form_version: str) -> dict[str, str]:
    form = load_form(form_version)
    wb = openpyxl.load_workbook(path, data_only=True)
    checks, _ = live_checks(form)
    return {f"{c.instance.rule.id}:{c.instance.key}": wb[c.sheet][c.cell].value for c in checks}


def test_live_checks_recalculate_in_libreoffice(tmp_path: Path, real_report) -> None:
    _, version, header, values = real_report
    good = make_filled(tmp_path, "good.xlsx", version, values, header)
    out = lo_convert(good, "xlsx", tmp_path / "lo-good")
    states = _check_values(out, version)
    assert states and all(v == PASS_MARK for v in states.values()), states
    summary = openpyxl.load_workbook(out, data_only=True)["基本信息"]
    texts = [summary.cell(row=r, column=2).value for r in range(1, 30)]
    assert f"{PASS_MARK} 全部通过" in texts


def test_live_checks_flag_broken_filling_in_libreoffice(tmp_path: Path) -> None:
    from conftest import REAL_REPORTS

    _, header, values = REAL_REPORTS["pingtan-2023"]()
    values = dict(values)
    values["t2.granted.person"] = 25  # was 22: row total and result total break
    values["t3.review.total"] = 3  # was 2
    bad = make_filled(tmp_path, "bad.xlsx", "2021", values, header)
    out = lo_convert(bad, "xlsx", tmp_path / "lo-bad")
    states = _check_values(out, "2021")
    assert states["T2-row-total:row=granted"] == f"{FAIL_MARK} 应为 25"
    assert states["T2-result-total:col=person"] == f"{FAIL_MARK} 应为 83"
    assert states["T3-group-total:g=review"] == f"{FAIL_MARK} 应为 2"
    assert states["T2-balance:col=person"] == PASS_MARK
    failing = {k for k, v in states.items() if v != PASS_MARK}
    assert failing == {"T2-row-total:row=granted", "T2-result-total:col=person", "T3-group-total:g=review"}
    summary = openpyxl.load_workbook(out, data_only=True)["基本信息"]
    texts = [str(summary.cell(row=r, column=2).value) for r in range(1, 30)]
    assert any(t.startswith(f"{FAIL_MARK} 有 3 项未通过") for t in texts), texts


def test_form_version_check_in_template(tmp_path: Path) -> None:
    bad = make_filled(tmp_path, "old.xlsx", "2021", {}, {"hdr.year": 2020, "hdr.agency": "某局"})
    out = lo_convert(bad, "xlsx", tmp_path / "lo-ver")
    ws = openpyxl.load_workbook(out, data_only=True)["基本信息"]
    texts = [str(ws.cell(row=r, column=2).value) for r in range(1, 30)]
    assert f"{FAIL_MARK} 2020年度的报告应使用2019版表式" in texts
