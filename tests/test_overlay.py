"""The rules overlay (``--rules DIR`` / ``GKREPORT_RULES_DIR``), ``gkreport rules check``,
and the validated-once form cache: everything on files built here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REAL_REPORTS
from gkreport.commands.cli import main
from gkreport.core import form_schema, forms
from gkreport.core.forms import FormError, load_form, rules_dir
from gkreport.core.overlay import RULES_ENV
from gkreport.output.fill import write_filled

DOUBLE = {"id": "SX-new-double", "severity": "warning", "type": "equal", "total": "left",
          "title": "新收总计为自然人的两倍加一", "description": "省级补充规则（测试）",
          "left": ["t2.new.total"], "right": [{"cell": "t2.new.person", "coef": 2}, 1],
          "message": "{target} 应为 {expected}（省级规则）"}


def _overlay(folder: Path, name: str = "overlay-2021.json", **doc: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"form": "2021", **doc}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh validation cache and no overlay unless a test sets one."""
    monkeypatch.setenv("GKREPORT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(RULES_ENV, raising=False)
    forms.reset()
    yield
    forms.reset()


def _run(*args: object, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gkreport.commands.cli", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", timeout=300, env={**os.environ, **(env or {})})


# ------------------------------------------------------------------------------ overlay semantics


def test_overlay_adds_disables_and_regrades_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    values = {**values, "t2.new.legal": f"{values['t2.new.legal'] or 0}件"}  # value-format: a packaged warning
    zero = next(c for c, v in values.items() if c.startswith("t3.") and v == 0)
    values[zero] = None  # blank-as-zero: a packaged info
    book = write_filled(load_form("2021"), tmp_path / "某局.xlsx", values, header)
    assert main(["check", str(book), "--json"]) == 0
    plain = {f["rule"]: f for f in json.loads(capsys.readouterr().out)[0]["findings"]}
    assert plain["value-format"]["severity"] == "warning" and "origin" not in plain["value-format"]
    assert "T1-in-force" in {r.id for r in load_form("2021").rules}

    folder = tmp_path / "省级规则"
    ov = _overlay(folder, disable=["T1-in-force", "blank-as-zero"], add=[DOUBLE],
                  severity={"value-format": "error"})
    assert main(["--rules", str(folder), "check", str(book), "--json"]) == 1
    found = {f["rule"]: f for f in json.loads(capsys.readouterr().out)[0]["findings"]}
    assert found["value-format"]["severity"] == "error"
    assert "blank-as-zero" in plain and "blank-as-zero" not in found
    new = found["SX-new-double"]
    person = 2 * values["t2.new.person"] + 1
    assert new["origin"] == str(ov.resolve()) and new["expected"] == person and new["severity"] == "warning"
    assert new["message"].startswith(f"表二 J7（一、本年新收·总计） 应为 {person}（省级规则）。")
    assert os.environ.get(RULES_ENV) is None  # --rules lasts for its command only
    monkeypatch.setenv(RULES_ENV, str(folder))
    assert "T1-in-force" not in {r.id for r in load_form("2021").rules}
    assert load_form("2021").rule("SX-new-double").origin == str(ov)


def test_a_replaced_rule_and_overlays_applied_in_name_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "rules"
    _overlay(folder, "overlay-1.json", add=[DOUBLE])
    _overlay(folder, "overlay-2.json", disable=["SX-new-double", "carry-over"],
             add=[{**DOUBLE, "severity": "info"}], severity={"SX-new-double": "error"})
    monkeypatch.setenv(RULES_ENV, str(folder))
    form = load_form("2021")
    rule = form.rule("SX-new-double")
    assert rule.severity == "error" and rule.origin == str(folder / "overlay-2.json")
    assert "carry-over" not in {r.id for r in form.rules}
    assert load_form("2019").rules == forms.load_base_form("2019").rules  # other forms untouched


@pytest.mark.parametrize(("doc", "said"), [
    ({"disable": ["no-such-rule"]}, "disable 中的规则 no-such-rule 在 2021 版表式中不存在"),
    ({"severity": {"no-such-rule": "info"}}, "severity 中的规则 no-such-rule 在 2021 版表式中不存在"),
    ({"add": [{**DOUBLE, "id": "T2-row-total"}]}, "规则 T2-row-total 已存在于 2021 版表式"),
    ({"form": "2099"}, "没有 2099 版表式"),
    ({"disabel": ["x"]}, "不允许的字段“disabel”（是否应为“disable”？）"),
    ({"severity": {"carry-over": "fatal"}}, "severity/carry-over：\"fatal\" 不是可选的值"),
    ({"add": [{**DOUBLE, "totl": "left"}]}, "规则 SX-new-double：不允许的字段“totl”"),
    ({"add": [{**DOUBLE, "message": "{targte}"}]}, "规则 SX-new-double 的 message 使用了未知的占位符 {targte}"),
    ({"add": [{**DOUBLE, "left": ["t2.new.nobody"]}]}, "规则 SX-new-double 引用了不存在的单元格 t2.new.nobody"),
])
def test_a_bad_overlay_is_rejected_naming_file_and_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        doc: dict, said: str) -> None:
    folder = tmp_path / "rules"
    path = _overlay(folder, **doc)
    monkeypatch.setenv(RULES_ENV, str(folder))
    with pytest.raises(FormError) as e:
        load_form("2021")
    assert str(path) in str(e.value) and said in str(e.value)


def test_overlay_folder_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "overlay_2021.json").write_text("{}", encoding="utf-8")  # a misspelt name is not ignored
    monkeypatch.setenv(RULES_ENV, str(folder))
    with pytest.raises(FormError, match=r"无法识别的文件 overlay_2021\.json"):
        load_form("2021")
    (folder / "overlay_2021.json").unlink()
    (folder / "overlay-a.json").write_text("{\"form\": ", encoding="utf-8")
    with pytest.raises(FormError, match=r"overlay-a\.json：不是有效的 UTF-8 JSON 文件（第 1 行"):
        load_form("2021")
    monkeypatch.delenv(RULES_ENV)
    assert main(["--rules", str(tmp_path / "nowhere"), "describe"]) == 2
    assert "规则覆盖目录不存在" in capsys.readouterr().err
    assert main(["--rules", str(folder), "describe"]) == 2  # the broken overlay: a message, exit 2
    assert "overlay-a.json" in capsys.readouterr().err


def test_a_new_form_from_the_overlay_goes_through_template_check_and_consolidate(tmp_path: Path) -> None:
    doc = json.loads((rules_dir() / "form-2021.json").read_text(encoding="utf-8"))
    doc.update(form="2026", name="2026版表式（测试）", years={"min": 2026})
    next(h for h in doc["header"]["fields"] if h["id"] == "hdr.form")["fixed"] = "2026"
    permit = next(r for b in doc["tables"][0]["blocks"] for r in b["rows"] if r["key"] == "license")
    permit["key"] = "permit"  # the 2026 form's own cell ids tell its workbooks from 2021's
    folder = tmp_path / "规则"
    folder.mkdir()
    (folder / "form-2026.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _overlay(folder, "overlay-2026.json", form="2026", add=[DOUBLE])
    env = {RULES_ENV: str(folder)}
    r = _run("describe", "--form", "2026", env=env)
    assert r.returncode == 0 and "t2.new.total" in r.stdout
    r = _run("--rules", folder, "template", "--form", "2026", "-o", tmp_path / "t.xlsx")
    assert r.returncode == 0 and "2026版表式（测试）" in r.stdout, r.stderr
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    values = {k.replace("t1.license.", "t1.permit."): v for k, v in values.items()}
    inbox = tmp_path / "收到的报表"
    inbox.mkdir()
    for i, agency in enumerate(("甲局", "乙局")):
        os.environ[RULES_ENV] = str(folder)
        try:
            forms.reset()
            write_filled(load_form("2026"), inbox / f"{agency}.xlsx", {**values, "t2.new.person": i},
                         {**header, "hdr.agency": agency, "hdr.year": 2026})
        finally:
            del os.environ[RULES_ENV]
    r = _run("check", inbox, "--json", env=env)
    records = json.loads(r.stdout)
    assert {rec["form"] for rec in records} == {"2026"}
    assert all(any(f["rule"] == "SX-new-double" and f["origin"].endswith("overlay-2026.json")
                   for f in rec["findings"]) for rec in records)
    r = _run("--rules", folder, "consolidate", inbox, "-o", tmp_path / "汇总.xlsx")
    assert r.returncode in (0, 1) and (tmp_path / "汇总.xlsx").is_file(), r.stdout + r.stderr
    assert "纳入汇总 2 个" in r.stdout and "汇总表式：2026版表式（测试）" in r.stdout  # the workers saw the overlay
    assert "[警告] SX-new-double：" in r.stdout


# ------------------------------------------------------------------------------ rules check


def test_rules_check_prints_expanded_identities_and_exit_codes(tmp_path: Path) -> None:
    good = _overlay(tmp_path / "a", add=[DOUBLE, {**DOUBLE, "id": "SX-loop", "total": "left",
                                                  "for_each": {"col": "@t2_columns"},
                                                  "left": ["t2.total.{col}"], "right": ["t2.granted.{col}", "-5"],
                                                  "message": "{col}：{target} 应为 {expected}"}],
                    disable=["T1-in-force"])
    r = _run("rules", "check", good)
    assert r.returncode == 2 and "规则 SX-loop 的项“-5”是文字：常数请直接写数字 -5" in r.stderr
    good = _overlay(tmp_path / "a", add=[DOUBLE, {**DOUBLE, "id": "SX-loop", "for_each": {"col": "@t2_columns"},
                                                  "left": ["t2.total.{col}"], "right": ["t2.granted.{col}", -5,
                                                                                        "-prev:t2.carried_out.{col}"],
                                                  "message": "{col}：{target} 应为 {expected}"}],
                    disable=["T1-in-force"])
    r = _run("rules", "check", good, rules_dir() / "form-2019.json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{good}：有效（用于2021版表式）：停用 1 条规则（T1-in-force）；新增 2 条规则"
    assert "  t2.new.total = 2×t2.new.person + 1" in lines
    assert "  t2.total.person = t2.granted.person − prev:t2.carried_out.person − 5" in lines
    assert any(line.startswith(f"{rules_dir() / 'form-2019.json'}：有效（2019版表式") for line in lines)
    assert "  t1.license.prev_items + t1.license.change >= 0" in lines
    bad = _overlay(tmp_path / "b", add=[{**DOUBLE, "totl": "left"}])
    r = _run("rules", "check", bad, good, "-q")
    assert r.returncode == 2
    assert f"错误：{bad}：定义不符合 schema：\n规则 SX-new-double：不允许的字段“totl”" in r.stderr
    assert r.stdout.startswith(f"{good}：有效") and "t2.new.total =" not in r.stdout
    r = _run("rules", "check", "-h")
    assert "检查一个或多个规则文件" in r.stdout or "按加载时的全部检查" in r.stdout
    assert "示例：" in r.stdout and "退出码" in r.stdout


# ------------------------------------------------------------------------------ the validated cache


def test_forms_are_validated_once_per_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = form_schema.validate

    def counting(doc, source="<memory>", name=form_schema.FORM_SCHEMA):
        calls.append(Path(str(source)).name)
        return real(doc, source, name)

    monkeypatch.setattr(form_schema, "validate", counting)
    folder = tmp_path / "rules"
    ov = _overlay(folder, add=[DOUBLE])
    monkeypatch.setenv(RULES_ENV, str(folder))
    load_form("2021")
    assert calls == ["form-2021.json", "overlay-2021.json"]
    stamps = sorted((tmp_path / "cache" / "validated").glob("*.ok"))
    assert len(stamps) == 2 and all(p.read_text() == p.stem for p in stamps)
    forms.reset()
    load_form("2021")
    assert len(calls) == 2  # the stamps stood for the validation
    ov.write_text(ov.read_text(encoding="utf-8").replace("省级规则", "省级"), encoding="utf-8")
    os.utime(ov, ns=(1, 1))  # another signature, even within one clock tick
    load_form("2021")
    assert calls[2:] == ["overlay-2021.json"]  # a changed overlay is validated again
    for stamp in stamps:
        stamp.write_text("corrupt", encoding="ascii")
    forms.reset()
    load_form("2021")
    assert calls[3:] == ["form-2021.json"]  # a stamp that is not its own name is not trusted


def test_a_forged_stamp_never_turns_a_bad_form_into_a_traceback(tmp_path: Path) -> None:
    doc = json.loads((rules_dir() / "form-2021.json").read_text(encoding="utf-8"))
    del doc["sets"]
    data = json.dumps(doc).encode()
    key = form_schema.stamp_key(form_schema.FORM_SCHEMA, data)
    form_schema.write_stamp(key)
    assert form_schema.is_stamped(key)
    with pytest.raises(FormError, match="缺少必需的字段 “sets”"):
        from gkreport.core.form_parse import parse_form
        parse_form(doc, "forged.json", validated=True)


def test_a_start_with_valid_stamps_does_not_import_jsonschema(tmp_path: Path) -> None:
    code = ("import sys; from gkreport.core.forms import load_form; load_form('2021'); load_form('2019'); "
            "print('jsonschema' in sys.modules)")
    env = {**os.environ, "GKREPORT_CACHE_DIR": str(tmp_path / "c")}
    env.pop(RULES_ENV, None)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
            for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["True", "False"], [r.stderr for r in runs]


def test_the_readme_overlay_example_is_valid(tmp_path: Path) -> None:
    """The worked example of the README's 省级规则覆盖 section checks as it says."""
    import re

    from gkreport.commands.cli_rules import check_file

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = re.search(r"`省级规则/overlay-2021\.json`：\n\n```json\n(.*?)```", readme, re.S)
    assert example is not None
    path = tmp_path / "overlay-2021.json"
    path.write_text(example.group(1), encoding="utf-8")
    lines = check_file(path)
    assert lines[0].startswith(f"{path}：有效（用于2021版表式）：停用 1 条规则（T1-in-force）")
    for line in lines[1:3]:  # the rule and its first identity, as the README shows them
        assert f"  {line}\n" in readme, line


def test_the_excel_ribbon_sees_the_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, excel_log: Path) -> None:
    """The ribbon's 校验 (xlwings remote book) checks with the rules of GKREPORT_RULES_DIR."""
    import xlwings as xw

    from gkreport.addin import excel
    from test_excel_entrypoints import actions, filled, payload_from_workbook

    wb, _ = filled("pingtan-2023")
    book = xw.Book(json=payload_from_workbook(wb))
    excel.check_active(book)
    assert "（省级规则）" not in json.dumps(actions(book), ensure_ascii=False)
    _overlay(tmp_path / "rules", add=[DOUBLE])
    monkeypatch.setenv(RULES_ENV, str(tmp_path / "rules"))
    book = xw.Book(json=payload_from_workbook(wb))
    excel.check_active(book)
    assert "（省级规则）" in json.dumps(actions(book), ensure_ascii=False)
