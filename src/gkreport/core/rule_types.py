"""The rule types: for each, what a rule may say and how it is checked, in one registry.

A rule in ``rules/form-*.json`` is flat JSON: the keys every rule has (``id``,
``severity``, ``type``, ``title``, ``description``, ``message``, ``needs``) and the
keys of its type (``left``/``right`` of an ``equal`` identity, ``factor`` of an
``outlier`` …). This module is where a type is defined once (in the spirit of
frictionless checks and pandera's ``register_check_method``):

* its parameter schema (the JSON Schema of its own keys; ``rules/schema.json`` holds
  the same text, :func:`rule_schema_defs` generates it and a test keeps them equal),
  so a typo such as ``"totl"`` is rejected at load with the rule named;
* the message placeholders its findings fill in (an unknown ``{targte}`` is an error at
  load, not a literal brace in a clerk's report);
* its evaluation: the engine's check for the type, registered by
  :mod:`gkreport.core.rule_checks` (identities are evaluated together, see ``holds``);
* its live-check formula for the template (identities only), registered by
  :mod:`gkreport.core.livecalc`.

Definitions import nothing heavy: loading a form needs schemas and placeholders only.
"""

from __future__ import annotations

import json
import string
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COMMON_KEYS = ("id", "severity", "type", "title", "description", "message", "needs", "$comment")
TERM_PATTERN = "^-?(prev:)?[a-z0-9_{}.]+$"
_NONZERO_INT = {"type": "integer", "not": {"const": 0}}

Evaluate = Callable[[Any, Any], Iterable[Any]]  # (engine context, RuleDef) -> findings
Live = Callable[..., tuple[str, str]]  # (instance, form, calc layout, mark) -> (fails, text when failing)


@dataclass
class RuleType:
    """One rule type. ``params`` maps each type-specific key to its JSON Schema."""

    name: str
    summary: str  # Chinese, for ``gkreport rules check`` and the README
    params: Mapping[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    placeholders: Callable[[Mapping[str, Any], str], frozenset[str]] = lambda doc, key: frozenset()
    identity: bool = False  # expands into linear identities (left/right over an optional for_each)
    holds: Callable[[float, float, Any], bool] | None = None  # identities: does left ? right hold
    evaluate: Evaluate | None = None  # registered by the engine's side (gkreport.core.rule_checks)
    live: Live | None = None  # registered by gkreport.core.livecalc (identity types with ``live``)
    messages: tuple[str, ...] = ("message",)  # the keys holding message templates


REGISTRY: dict[str, RuleType] = {}


def define(rule_type: RuleType) -> RuleType:
    """Add a type to the registry (a name is defined once)."""
    if rule_type.name in REGISTRY:
        raise ValueError(f"rule type {rule_type.name} defined twice")
    REGISTRY[rule_type.name] = rule_type
    return rule_type


def get(name: str) -> RuleType:
    return REGISTRY[name]


def evaluation(name: str) -> Callable[[Evaluate], Evaluate]:
    """Decorator: ``fn(ctx, rule)`` is the engine's check of every rule of type ``name``."""
    def register(fn: Evaluate) -> Evaluate:
        REGISTRY[name].evaluate = fn
        return fn
    return register


def live_formula(name: str) -> Callable[[Live], Live]:
    """Decorator: ``fn(instance, form, layout, mark)`` is the template's live check of type ``name``."""
    def register(fn: Live) -> Live:
        REGISTRY[name].live = fn
        return fn
    return register


# ------------------------------------------------------------------------------ placeholders


def fields_of(template: str) -> list[str]:
    """The placeholder names of a message; ValueError for a malformed template or a
    placeholder with an index, attribute, conversion or format spec (the engine fills in
    text, so ``{diff:.2f}`` would fail on a clerk's report instead of here)."""
    names = []
    for _, name, spec, conv in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            raise ValueError(f"占位符“{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}”"
                             "只能是一个名称，如 {target}")
        names.append(name)
    return names


def _fixed(*names: str) -> Callable[[Mapping[str, Any], str], frozenset[str]]:
    allowed = frozenset(names)
    return lambda doc, key: allowed


def _loop_vars(doc: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(doc.get("for_each") or {})


_CELL_PLACEHOLDERS = {
    "value-type": ("cell_label", "raw", "why", "value"), "value-format": ("cell_label", "raw", "why", "value"),
    "not-applicable": ("cell_label", "raw", "why", "value"), "formula": ("cell_label", "formula", "why"),
    "blank": ("count", "cells"),
}
_EQUAL = ("target", "expected", "actual", "diff", "left", "right")


def _cell_placeholders(doc: Mapping[str, Any], key: str) -> frozenset[str]:
    return frozenset(_CELL_PLACEHOLDERS.get(str(doc.get("check")), ()))


# ------------------------------------------------------------------------------ the types

_SET_REF = {"type": "string", "pattern": "^@[a-z0-9_]+$"}
_FOR_EACH = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": _SET_REF,
             "description": "optional: one loop variable over a set; without it the rule is a single identity"}
_SIDE = {"type": "array", "items": {"$ref": "#/$defs/term"}}
_IDENTITY = {"for_each": _FOR_EACH, "left": _SIDE, "right": _SIDE, "live": {"enum": ["right", "below"]}}
_OPS = {">=": lambda a, b: a >= b - 1e-9, "<=": lambda a, b: a <= b + 1e-9,
        ">": lambda a, b: a > b, "<": lambda a, b: a < b}


def compare_holds(left: float, op: str, right: float) -> bool:
    """``left op right`` with the engine's tolerance for >= and <= (none for > and <)."""
    return bool(_OPS[op](left, right))


define(RuleType(
    "equal", "恒等式：左边各项之和等于右边各项之和（可带整数系数和常数）",
    {**_IDENTITY, "total": {"enum": ["left"]}, "tolerance": {"type": "number", "minimum": 0}},
    ("left", "right"), lambda doc, key: frozenset(_EQUAL) | _loop_vars(doc), identity=True,
    holds=lambda left, right, rule: abs(left - right) <= rule.tolerance,
))
define(RuleType(
    "compare", "比较：左边各项之和与右边各项之和满足 >=、<=、>、<",
    {**_IDENTITY, "op": {"enum": list(_OPS)}},
    ("left", "right", "op"), lambda doc, key: frozenset(("left", "right", "diff")) | _loop_vars(doc), identity=True,
    holds=lambda left, right, rule: compare_holds(left, rule.op or ">=", right),
))
define(RuleType(
    "cell", "单元格内容：数值类型、书写格式、空白、不适用标记、公式",
    {"check": {"enum": list(_CELL_PLACEHOLDERS)}}, ("check",), _cell_placeholders,
))
define(RuleType(
    "blank-total", "总计为空白而其组成部分不为 0（由恒等式发现）",
    {"group_message": {"type": "string", "minLength": 1,
                       "description": "one finding for a column or row of blank totals ({where}, {count}, {cells})"}},
    (), lambda doc, key: frozenset(("where", "count", "cells") if key == "group_message" else _EQUAL),
    messages=("message", "group_message"),
))
define(RuleType("form-version", "报告年度与表式版本相符", {}, (), _fixed("year", "expected_form", "form_name")))
define(RuleType("header", "必填表头信息已填写、报告年度为四位年份", {}, (), _fixed("field", "why")))
define(RuleType(
    "outlier", "与上年差异过大",
    {"factor": {"type": "number", "exclusiveMinimum": 1}, "min_base": {"type": "number", "minimum": 0},
     "include": {"type": "array", "minItems": 1, "items": {
         "type": "object", "minProperties": 1, "additionalProperties": False,
         "properties": {"table": {"type": "string"}, "kind": {"enum": ["input", "total"]}}}}},
    ("factor", "min_base"), _fixed("cell_label", "actual", "why"),
))
define(RuleType(
    "narrative", "报告正文中的数字与表格一致",
    {"patterns": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["regex", "cells", "what"], "additionalProperties": False,
        "properties": {"regex": {"type": "string", "format": "regex"},
                       "cells": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                       "accept": {"type": "array", "items": {"type": "array", "minItems": 1,
                                                              "items": {"type": "string"}}},
                       "accept_what": {"type": "array", "items": {"type": "string"}},
                       "what": {"type": "string"}}}}},
    ("patterns",), _fixed("what", "narrative", "table", "also"),
))
define(RuleType("import", "导入已发布报告时的说明（由导入程序给出）", {}, (), _fixed("what")))


# ------------------------------------------------------------------------------ the schema


def _common_properties() -> dict[str, Any]:
    return {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]*$"},
        "severity": {"enum": ["error", "warning", "info"]},
        "type": {"enum": list(REGISTRY)},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "message": {"type": "string", "minLength": 1},
        "needs": {"enum": ["previous"]},
        "$comment": {"type": "string"},
    }


def rule_schema_defs() -> dict[str, Any]:
    """``$defs/rule`` and ``$defs/term`` of ``rules/schema.json``, from the registry: the
    common keys, then per type (``if type = X``) its own keys with
    ``additionalProperties: false``, so the rules stay flat JSON."""
    common = _common_properties()
    branches = []
    for rt in REGISTRY.values():
        then: dict[str, Any] = {"properties": {**{k: True for k in common}, **rt.params},
                                "additionalProperties": False}
        if rt.required:
            then["required"] = list(rt.required)
        branches.append({"if": {"properties": {"type": {"const": rt.name}}}, "then": then})
    term_string = {"type": "string", "pattern": TERM_PATTERN}
    over = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": _SET_REF}
    term = {"oneOf": [
        term_string,
        {"type": "integer", "description": "a constant"},
        {"type": "object", "required": ["cell"], "additionalProperties": False,
         "properties": {"cell": term_string, "coef": _NONZERO_INT}},
        {"type": "object", "required": ["sum", "over"], "additionalProperties": False,
         "properties": {"sum": term_string, "over": over, "coef": _NONZERO_INT}},
    ]}
    rule = {"type": "object", "required": ["id", "severity", "type", "title", "description", "message"],
            "properties": common, "allOf": branches}
    return {"rule": rule, "term": term}


if __name__ == "__main__":  # print the generated definitions (to paste into rules/schema.json)
    json.dump(rule_schema_defs(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
