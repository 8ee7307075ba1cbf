"""The rule language: the type registry and its schema, flat rules with per-type keys,
message placeholders, optional for_each, integer coefficients and constants (engine, live
formulas, locate), and the rules no other test pins (compare, header)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REAL_REPORTS
from gkreport.core import addresses as addr
from gkreport.core import livecalc, locate_milp, rule_types
from gkreport.core.engine import check
from gkreport.core.findings import fingerprint
from gkreport.core.form_schema import validate
from gkreport.core.forms import FormError, load_form, parse_form, rules_dir
from gkreport.core.formula import evaluate
from gkreport.core.report import report_from_raw


def _doc(version: str) -> dict:
    return json.loads((rules_dir() / f"form-{version}.json").read_text(encoding="utf-8"))


def _with_rule(version: str, rule: dict) -> dict:
    doc = _doc(version)
    doc["rules"].append(rule)
    return doc


def _rule(**over: object) -> dict:
    base = {"id": "X-test", "severity": "error", "type": "equal", "title": "测试", "description": "测试规则",
            "left": ["t2.new.total"], "right": ["t2.new.person"], "message": "{target} 应为 {expected}"}
    return {**base, **over}


# ------------------------------------------------------------------------------ registry and schema


def test_schema_json_rule_definitions_are_the_registrys() -> None:
    """rules/schema.json (what editors validate against) says what the registry says."""
    schema = json.loads((rules_dir() / "schema.json").read_text(encoding="utf-8"))
    generated = rule_types.rule_schema_defs()
    assert schema["$defs"]["rule"] == generated["rule"]
    assert schema["$defs"]["term"] == generated["term"]


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_packaged_forms_pass_the_schema_and_every_rule_type_is_registered(version: str) -> None:
    validate(_doc(version), f"form-{version}.json")  # the full validation, not a cached stamp
    for rule in load_form(version).rules:
        rt = rule_types.get(rule.type)
        assert rt.identity == bool(rule.instances)
        if rule.live:
            assert rt.live is not None
    checked = {name for name, rt in rule_types.REGISTRY.items() if rt.evaluate is not None}
    assert checked == {"cell", "header", "form-version", "outlier", "narrative"}


@pytest.mark.parametrize(("rule", "said"), [
    (_rule(totl="left"), "不允许的字段“totl”（是否应为“total”？）"),
    (_rule(type="compare", op=">=", tolerance=1), "不允许的字段“tolerance”"),
    (_rule(type="cell", check="blank", left=[]), "不允许的字段“left”"),
    (_rule(type="outlier", factor=5, min_base=1, facter=3), "不允许的字段“facter”"),
    (_rule(type="compare"), "缺少必需的字段 “op”"),
    (_rule(right=[{"cell": "t2.new.person", "coef": 0}]), "的写法不对"),
    (_rule(right=[{"cell": "t2.new.person", "coef": 1.5}]), "的写法不对"),
    (_rule(severity="fatal"), "不是可选的值"),
])
def test_a_malformed_rule_is_rejected_naming_the_rule(rule: dict, said: str) -> None:
    with pytest.raises(FormError) as e:
        parse_form(_with_rule("2021", rule), "form-x.json")
    assert "form-x.json" in str(e.value) and "规则 X-test" in str(e.value)
    assert said in str(e.value)


@pytest.mark.parametrize(("message", "said"), [
    ("{targte} 应为 {expected}", "未知的占位符 {targte}（equal 类规则可用：{actual}、{diff}、{expected}、{left}、{right}、{target}，是否应为 {target}？）"),
    ("{col} 应为 {expected}", "未知的占位符 {col}"),  # no for_each: no loop variable
    ("{diff:.2f}", "只能是一个名称"),
    ("差 {diff", "写法不对"),
])
def test_message_placeholders_are_checked_at_load(message: str, said: str) -> None:
    with pytest.raises(FormError) as e:
        parse_form(_with_rule("2021", _rule(message=message)), "form-x.json")
    assert "规则 X-test 的 message" in str(e.value) and said in str(e.value)


def test_placeholders_per_type_and_loop_variable() -> None:
    ok = _rule(for_each={"col": "@t2_columns"}, left=["t2.new.{col}"], right=["t2.granted.{col}"],
               message="{col}：{target} 应为 {expected}，差 {diff}")
    assert len(parse_form(_with_rule("2021", ok)).rule("X-test").instances) == 7
    blank = next(r for r in _doc("2021")["rules"] if r["type"] == "blank-total")
    for key, bad in (("message", "{where}"), ("group_message", "{target}")):
        doc = _doc("2021")
        next(r for r in doc["rules"] if r["type"] == "blank-total")[key] = bad
        with pytest.raises(FormError, match=f"规则 {blank['id']} 的 {key} 使用了未知的占位符"):
            parse_form(doc)
    doc = _doc("2021")
    next(r for r in doc["rules"] if r["id"] == "header-missing")["message"] = "{cell_label}"
    with pytest.raises(FormError, match=r"header 类规则可用：\{field\}、\{why\}"):
        parse_form(doc)


# ------------------------------------------------------------------------------ optional for_each, coefficients


def _pingtan(**changes: object):
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    return header, {**values, **changes}


def test_a_rule_without_for_each_is_one_identity_and_is_checked() -> None:
    form = parse_form(_with_rule("2021", _rule(total="left", right=["t2.new.person", "t2.new.company", 7])))
    (inst,) = form.rule("X-test").instances
    assert inst.binding == () and inst.key == "-" and inst.right_const == 7 and inst.const == -7
    header, values = _pingtan()
    report = report_from_raw(form, values, header)
    (f,) = [f for f in check(report) if f.rule == "X-test"]
    expected = report.number("t2.new.person") + report.number("t2.new.company") + 7
    assert f.expected == expected and f.actual == report.number("t2.new.total")
    assert f.message.startswith(f"表二 {form.cells['t2.new.total'].ref}（") and f"应为 {expected:g}" in f.message


@settings(max_examples=40, deadline=None)
@given(total=st.integers(0, 60), person=st.integers(0, 30), coef=st.integers(-3, 3).filter(bool),
       const=st.integers(-20, 20))
def test_coefficients_and_constants_in_the_engine(total: int, person: int, coef: int, const: int) -> None:
    """``new.total = coef × new.person + const`` holds exactly when the engine is silent."""
    rule = _rule(severity="info", right=[{"cell": "t2.new.person", "coef": coef}, const],
                 message="左 {left} 右 {right} 差 {diff}")
    form = _form_with(json.dumps(rule))
    report = report_from_raw(form, {"t2.new.total": total, "t2.new.person": person}, {})
    found = [f for f in check(report, locate=False) if f.rule == "X-test"]
    right = coef * person + const
    assert bool(found) == (total != right)
    if found:
        assert found[0].message == f"左 {total} 右 {right} 差 {abs(total - right)}"


_FORMS: dict[str, object] = {}


def _form_with(rule_json: str):
    """Forms are immutable: one parse per distinct rule keeps hypothesis fast."""
    if rule_json not in _FORMS:
        _FORMS[rule_json] = parse_form(_with_rule("2021", json.loads(rule_json)))
    return _FORMS[rule_json]


def test_live_formula_carries_coefficients_and_constants() -> None:
    """The template's live check sums what the engine sums: evaluate its two sides with
    each band cell standing for its data cell's value."""
    rule = _rule(live="right", left=["t2.new.total", {"cell": "t2.carried_in.total", "coef": -2}],
                 right=[{"sum": "t2.new.{c}", "over": {"c": "@t2_applicants"}, "coef": 3}, -4])
    form = parse_form(_with_rule("2021", rule))
    (inst,) = form.rule("X-test").instances
    lay = livecalc.layout(form)
    values = {cid: (i * 7) % 11 for i, cid in enumerate(form.cells)}
    where = {}
    for table in form.tables:
        for cid in table.cell_ids:
            col, row = addr.split_ref(lay.ref(form.cells[cid], "value", table))
            where[(col, row)] = values[cid]

    def lookup(sheet: str | None, col: int, row: int) -> float:
        assert sheet == livecalc.CALC_SHEET
        return float(where.get((col, row), 0))

    fails, said = rule_types.get("equal").live(inst, form, lay, "✗")  # type: ignore[misc]
    left = livecalc.band_sum(inst.left, form, lay, const=inst.left_const)
    right = livecalc.band_sum(inst.right, form, lay, const=inst.right_const)
    assert "3*SUM(" in right and right.endswith("-4") and "-2*SUM(" in left
    assert evaluate(left, lookup) == values["t2.new.total"] - 2 * values["t2.carried_in.total"]
    applicants = form.sets["t2_applicants"]
    assert evaluate(right, lookup) == 3 * sum(values[f"t2.new.{c}"] for c in applicants) - 4
    assert fails == f"ABS(({left})-({right}))>1e-06" and said.startswith('"✗ 相差 "&ROUND(')


def test_locate_blames_the_right_cell_through_a_coefficient() -> None:
    """``2 × 自然人 = 商业企业`` (an overlay-style rule): a mistyped 自然人 breaks it by twice
    the typo; the engine blames 自然人 and suggests the value every identity agrees on."""
    rule = _rule(id="X-test", left=[{"cell": "t2.new.person", "coef": 2}], right=["t2.new.company"],
                 message="自然人的两倍 {left} 不等于商业企业 {right}")
    form = parse_form(_with_rule("2021", rule))
    values = {c: 0 for c in form.cells}
    for row in ("new", "granted", "total"):
        values |= {f"t2.{row}.person": 5, f"t2.{row}.company": 10, f"t2.{row}.total": 15}
    assert not [f for f in check(report_from_raw(form, values, {}), locate=False) if f.severity == "error"]
    typo = report_from_raw(form, {**values, "t2.new.person": 6}, {})
    errors = [f for f in check(typo) if f.severity == "error"]
    assert {f.rule for f in errors} == {"X-test", "T2-row-total", "T2-balance"}
    for f in errors:
        assert f.suspect_ids == ("t2.new.person",) and f.suggested == 5, f.message
    mine = next(f for f in errors if f.rule == "X-test")
    assert mine.message.startswith("自然人的两倍 12 不等于商业企业 10。最可能填错的是 表二")
    # The MILP (not only the one-cell shortcut) reads the coefficient the same way.
    vars_ = [locate_milp.Var(c, o, True, 0.0, 1.0) for c, o in (("p", 6.0), ("c", 10.0), ("t", 15.0))]
    rows = [locate_milp.Row({"p": 2.0, "c": -1.0}, "==", 0.0), locate_milp.Row({"t": 1.0, "p": -1.0, "c": -1.0}, "==", 0.0)]
    for shortcut in (True, False):
        sol = locate_milp.solve(vars_, rows, shortcut=shortcut)
        assert sol is not None and sol.explanations[0].changes == {"p": 5.0}


# ------------------------------------------------------------------------------ compare and header rules


def test_2019_items_nonnegative_fires_and_says_what_is_wrong() -> None:
    form, header, values = REAL_REPORTS["xiuzhou-honghe-2020"]()
    f2019 = load_form(form)
    rule = f2019.rule("T1-items-nonnegative")
    assert rule.type == "compare" and rule.op == ">=" and rule.severity == "error"
    ok = {**values, "t1.license.prev_items": 3, "t1.license.change": -3}  # exactly 0 is allowed
    assert not [f for f in check(report_from_raw(f2019, ok, header)) if f.rule == rule.id]
    bad = report_from_raw(f2019, {**values, "t1.license.prev_items": 3, "t1.license.change": -5}, header)
    (f,) = [f for f in check(bad) if f.rule == rule.id]
    assert f.severity == "error" and f.sheet == f2019.cells["t1.license.change"].sheet
    assert f.message.startswith("行政许可：上一年项目数量＋本年增/减＝-2，本年项目数不能为负")
    assert f.cell_ids == ("t1.license.prev_items", "t1.license.change")
    assert f.actual == -2 and f.expected == 0
    assert f.instance == "T1-items-nonnegative:row=license"
    assert f.id == fingerprint(rule.id, f.cell_ids, bad.key, f.instance)


def test_header_rule_names_each_missing_required_field_at_its_cell() -> None:
    form, header, values = REAL_REPORTS["pingtan-2023"]()
    f2021 = load_form(form)
    rule = f2021.rule("header-missing")
    required = [h for h in f2021.header if h.required]
    assert [h.id for h in required] == ["hdr.agency", "hdr.year"]

    def header_findings(hdr: dict) -> list:
        report = report_from_raw(f2021, values, hdr)
        return [f for f in check(report) if f.rule == rule.id]

    assert header_findings(header) == []
    assert header_findings({**header, "hdr.preparer": None, "hdr.phone": ""}) == []  # not required
    for field in required:
        (f,) = header_findings({**header, field.id: "  "})  # blank counts as missing
        assert f.message == f"{field.label}未填写或无法识别"
        assert (f.sheet, f.cells, f.cell_ids) == ("基本信息", (field.cell,), (field.id,))
        assert f.suspects == (field.cell,) and f.severity == "warning"
    both = header_findings({})
    assert [f.cell_ids for f in both] == [("hdr.agency",), ("hdr.year",)]
    (f,) = header_findings({**header, "hdr.year": "今年"})
    assert f.message == "报告年度未填写或无法识别（填写的是“今年”，应为四位年份）"
    assert f.cells == ("B6",)
    report = report_from_raw(f2021, values, {**header, "hdr.year": "今年"})
    assert f.id == fingerprint(rule.id, ["hdr.year"], report.key)
    assert header_findings({**header, "hdr.year": "2023年度"}) == []


def test_a_form_document_is_not_changed_by_parsing() -> None:
    doc = _with_rule("2021", _rule(right=[{"sum": "t2.new.{c}", "over": {"c": "@t2_applicants"}, "coef": 2}]))
    before = copy.deepcopy(doc)
    parse_form(doc)
    assert doc == before
