"""A new form version is a JSON file: a fictitious ``form-2026`` goes through every job.

``form-2026`` is the 2021 form with 表二's （一）予以公开 renamed and a fourth （六）其他处理
sub-row added (its rules follow through the sets they expand over). It is the only file of
a rules overlay folder (``GKREPORT_RULES_DIR``), as a province would ship it; nothing else in
the package is told about it. Then: template → fill → check (and mark) → consolidate →
publish → import, each through the command line, each on the new row.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from gkreport.commands.cli import main
from gkreport.core import forms, forms_meta
from gkreport.core.forms import FormError, load_form, parse_form
from gkreport.core.resources import data_dir
from gkreport.output.fill import fill_workbook

NEW_ROW = "other_withdrawn"
NEW_LABEL = "4.申请人撤回申请"
RENAMED = "（一）予以全部公开"
APPLICANTS = ("person", "company", "research", "nonprofit", "legal", "other_org")


def _shift(rng: str, at: int, by: int = 1) -> str:
    """Move every row number >= ``at`` of a range down by ``by``."""
    return re.sub(r"([A-Z]+)(\d+)", lambda m: m[1] + str(int(m[2]) + by if int(m[2]) >= at else m[2]), rng)


def make_form_2026(doc: dict[str, Any]) -> dict[str, Any]:
    """The 2021 form document with 表二's first result row renamed and a row added under （六）."""
    new = copy.deepcopy(doc)
    new.update(form="2026", name="2026版表式", defined_by="国办公开办函〔2026〕1号（虚构，测试用）", years={"min": 2026})
    for field in new["header"]["fields"]:
        if field["id"] == "hdr.form":
            field["fixed"], field["prompt"] = "2026", "本表为2026版表式（虚构），用于2026年度及以后的报告"
    t2 = next(t for t in new["tables"] if t["id"] == "t2")
    rows = t2["blocks"][0]["rows"]
    misc = next(r for r in rows if r["key"] == "other_misc")
    at = misc["row"] + 1  # the new row goes right after （六）3.其他
    t2["size"][0] += 1
    for lab in t2["labels"]:
        first, _, last = lab["range"].partition(":")
        if lab["text"] in ("三、本年度办理结果", "（六）其他处理"):  # merged parents grow by one row
            lab["range"] = f"{first}:{_shift(last, at - 1)}"
        else:
            lab["range"] = _shift(lab["range"], at)
        if lab["text"] == "（一）予以公开":
            lab["text"] = RENAMED
    col = re.match(r"[A-Z]+", misc_label(t2)["range"])
    assert col is not None
    t2["labels"].append({"range": f"{col[0]}{at}", "text": NEW_LABEL, "style": "row"})
    for r in rows:
        if r["row"] >= at:
            r["row"] += 1
        if r["key"] == "granted":
            r["path"] = [*r["path"][:-1], RENAMED]
    rows.insert(rows.index(misc) + 1, {"key": NEW_ROW, "path": [*misc["path"][:-1], NEW_LABEL], "row": at,
                                       "short": "（六）4.撤回申请"})
    for name in ("t2_rows", "t2_results"):  # the rules expand over these sets
        keys = new["sets"][name]
        keys.insert(keys.index("other_misc") + 1, NEW_ROW)
    return new


def misc_label(t2: dict[str, Any]) -> dict[str, Any]:
    return next(lab for lab in t2["labels"] if lab["text"] == "3.其他")


@pytest.fixture()
def form_2026(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[forms.Form]:
    """form-2026.json alone in a rules overlay folder (``GKREPORT_RULES_DIR``): the packaged
    rules are untouched and nothing else in the package is told about the new form."""
    rules = tmp_path / "省级规则"
    rules.mkdir()
    doc = json.loads((data_dir("rules") / "form-2021.json").read_text(encoding="utf-8"))
    (rules / "form-2026.json").write_text(json.dumps(make_form_2026(doc), ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("GKREPORT_RULES_DIR", str(rules))
    monkeypatch.setenv("GKREPORT_CACHE_DIR", str(tmp_path / "cache"))
    yield load_form("2026")


def _values(form: forms.Form, seed: int) -> dict[str, int]:
    """A consistent report: every identity of 表二 and 表三 holds; the new row is not empty."""
    v: dict[str, int] = dict.fromkeys(form.cells, 0)
    results = form.sets["t2_results"]
    for i, key in enumerate(results):
        for j, c in enumerate(APPLICANTS):
            v[f"t2.{key}.{c}"] = (seed + i + j) % 3 + (2 if key == NEW_ROW else 0)
    for key in (*results, "total", "new", "carried_in", "carried_out"):
        for c in APPLICANTS:
            if key == "total":
                v[f"t2.total.{c}"] = sum(v[f"t2.{r}.{c}"] for r in results)
            elif key == "new":
                v[f"t2.new.{c}"] = v[f"t2.total.{c}"] + seed % 2
            elif key == "carried_out":
                v[f"t2.carried_out.{c}"] = seed % 2
        v[f"t2.{key}.total"] = sum(v[f"t2.{key}.{c}"] for c in APPLICANTS)
    return {k: x for k, x in v.items() if k.startswith("t2.") or k.startswith("t1.")}


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_a_new_form_version_runs_every_job_with_no_code_change(
    form_2026: forms.Form, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    form = form_2026
    assert forms.form_for_year(2026) is form and forms.form_for_year(2025).version == "2021"
    new_cell = form.cells[f"t2.{NEW_ROW}.person"]
    assert new_cell.ref == "D30" and form.cells["t2.total.total"].ref == "J31"  # one row further down

    # template: chosen by the report year; the labels, the new row and its name are there
    template = tmp_path / "模板.xlsx"
    assert _cli(capsys, "template", "--year", "2026", "-o", str(template))[0] == 0
    wb = openpyxl.load_workbook(template)
    t2 = wb[new_cell.sheet]
    assert wb[form.header_sheet]["B7"].value == "2026"
    assert t2["C30"].value == NEW_LABEL and t2["B9"].value == RENAMED and t2["B31"].value == "（七）总计"
    assert wb.defined_names[new_cell.id].attr_text.endswith("$D$30")
    notes = [str(c.value) for row in wb[form.header_sheet].iter_rows() for c in row if c.value]
    assert "2019版表式用于2019、2020年度；2021版表式用于2021年度及以后；2026版表式用于2026年度及以后" in notes

    # fill two agencies; one mistypes a cell of the new row
    reports = tmp_path / "报表"
    reports.mkdir()
    for n, name in enumerate(("甲局", "乙局")):
        values: dict[str, Any] = _values(form, n)
        if name == "乙局":
            values[new_cell.id] += 5  # its row total and the column's （七）总计 no longer add up
        book = fill_workbook(openpyxl.load_workbook(template), form, values,
                             {"hdr.agency": name, "hdr.year": 2026})
        book.save(reports / f"{name}.xlsx")

    # check and mark: the wrong cell of the new row is found and blamed
    marked = tmp_path / "标注"
    code, out = _cli(capsys, "check", str(reports), "--json", "--mark", str(marked))
    assert code == 1
    by_agency = {r["agency"]: r for r in json.loads(out)}
    assert {r["form"] for r in by_agency.values()} == {"2026"}
    assert not [f for f in by_agency["甲局"]["findings"] if f["severity"] == "error"]
    errors = [f for f in by_agency["乙局"]["findings"] if f["severity"] == "error"]
    assert {f["rule"] for f in errors} == {"T2-row-total", "T2-result-total"}
    assert all(new_cell.id in f["suspect_ids"] for f in errors)
    results = openpyxl.load_workbook(by_agency["乙局"]["marked"])["校验结果"]
    assert any(new_cell.ref in str(row) and "（六）4.撤回申请" in str(row) for row in results.values)

    # consolidate: the new row is summed, on the new form, with its charts
    summary = tmp_path / "汇总.xlsx"
    code, out = _cli(capsys, "consolidate", str(reports), "-o", str(summary), "--json", "--jobs", "1")
    doc = json.loads(out)
    assert doc["form"] == "2026" and doc["year"] == 2026
    a, b = _values(form, 0), _values(form, 1)
    assert doc["summary"][new_cell.id] == a[new_cell.id] + b[new_cell.id] + 5
    assert doc["summary"][f"t2.{NEW_ROW}.total"] == a[f"t2.{NEW_ROW}.total"] + b[f"t2.{NEW_ROW}.total"]
    sheets = openpyxl.load_workbook(summary).sheetnames
    assert "图表" in sheets

    # publish the good report, import it back: every value of the new form, the new row included
    page = tmp_path / "甲局年报.html"
    assert _cli(capsys, "publish", str(reports / "甲局.xlsx"), "-o", str(page))[0] == 0
    html = page.read_text(encoding="utf-8")
    assert NEW_LABEL in html and RENAMED in html
    back = tmp_path / "导入.xlsx"
    code, out = _cli(capsys, "import", str(page), "-o", str(back))
    assert code == 0, out
    imported = openpyxl.load_workbook(back)
    assert imported[form.header_sheet]["B7"].value == "2026"
    for cid, value in a.items():
        cell = form.cells[cid]
        assert imported[cell.sheet][cell.ref].value == value, cid


def test_every_form_declares_its_guide_charts_and_shapes() -> None:
    for form in forms_meta.all_forms():
        meta = forms_meta.form_meta(form)
        assert [s.id for s in meta.shapes] == [t.id for t in form.tables]
        assert meta.bar_cell in form.cells and meta.pie is not None
        assert meta.guide_text.startswith("填报说明：1. ") and meta.deadline_text in meta.guide_text
        assert "部门应于1月31日前、县级政府应于3月31日前公开年度报告" in meta.guide_text
    assert forms_meta.table_prefixes() == ("t1.", "t2.", "t3.")
    assert forms_meta.years_text(load_form("2019")) == "2019、2020年度"
    assert forms_meta.years_text(load_form("2021")) == "2021年度及以后"


@pytest.mark.parametrize(("change", "said"), [
    (lambda d: d["shapes"].pop("t3"), "shapes 应恰好列出每张表"),
    (lambda d: d["charts"].update(bar="t2.nowhere.total"), "charts.bar 引用了不存在的单元格 t2.nowhere.total"),
    (lambda d: d["charts"]["pie"].update(rule="T9"), "charts.pie 引用了不存在的规则 T9"),
    (lambda d: d["charts"]["pie"].update(instance="col=none"), "没有实例 col=none"),
])
def test_inconsistent_form_keys_are_rejected_by_name(change: Any, said: str) -> None:
    doc = json.loads((data_dir("rules") / "form-2021.json").read_text(encoding="utf-8"))
    change(doc)
    with pytest.raises(FormError, match=re.escape(said)):
        forms_meta.parse_meta(doc, parse_form(doc), "form-x.json")


def test_the_schema_rejects_an_unknown_shape_or_a_missing_guide() -> None:
    doc = json.loads((data_dir("rules") / "form-2021.json").read_text(encoding="utf-8"))
    bad = copy.deepcopy(doc)
    bad["shapes"]["t2"]["shape"] = "matrix"
    with pytest.raises(FormError, match="shapes/t2/shape"):
        parse_form(bad)
    bad = copy.deepcopy(doc)
    del bad["guide"]
    with pytest.raises(FormError, match="guide"):
        parse_form(bad)


def test_no_form_or_table_is_named_in_the_code() -> None:
    """Form versions, cell-id prefixes and table names live in rules/form-*.json only
    (docstrings may cite them as examples, and so may the usage examples a user reads)."""
    import ast

    examples = {  # (module, text it contains): an example shown to the user, not a branch
        ("cli.py", "gkreport rules check "), ("cli_rules.py", "gkreport rules check "),
        ("form_schema.py", "的写法不对：应为单元格编号（如 "),
    }

    pattern = re.compile(r"(^|[^0-9])(2019|2021)([^0-9]|$)|\bt[0-9]+\.|^t[0-9]+$|表[一二三]")
    found = []
    for path in sorted((Path(forms.__file__).parent).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.body and isinstance(node.body[0], ast.Expr)}
        found += [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                  and pattern.search(node.value)
                  and not any(path.name == m and text in node.value for m, text in examples)]
    assert not found


def test_a_file_of_a_form_whose_rules_are_missing_is_refused_not_read_as_the_old_form(
    form_2026: forms.Form, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2026 file read where only the packaged forms are known: the 2021 form matches most of
    its names, but reading it as 2021 would drop the new row from the check and the county
    total. Every reader refuses it instead (exit 2), naming the cells and the way out."""
    form = form_2026
    template = tmp_path / "模板.xlsx"
    assert _cli(capsys, "template", "--year", "2026", "-o", str(template))[0] == 0
    reports = tmp_path / "报表"
    reports.mkdir()
    book = fill_workbook(openpyxl.load_workbook(template), form, _values(form, 1),
                         {"hdr.agency": "甲局", "hdr.year": 2026})
    book.save(reports / "甲局.xlsx")
    monkeypatch.delenv("GKREPORT_RULES_DIR")
    assert forms.available_forms() == ("2019", "2021")

    code, out = _cli(capsys, "check", str(reports / "甲局.xlsx"), "--json")
    assert code == 2
    [result] = json.loads(out)
    assert "不属于2021版表式" in result["error"] and f"t2.{NEW_ROW}." in result["error"]
    assert "GKREPORT_RULES_DIR" in result["error"]
    code, _ = _cli(capsys, "check", str(reports))  # the folder path: workers, the fast reader
    assert code == 2
    code, out = _cli(capsys, "consolidate", str(reports), "-o", str(tmp_path / "汇总.xlsx"))
    assert code == 2 and "不属于2021版表式" in out and not (tmp_path / "汇总.xlsx").exists()
