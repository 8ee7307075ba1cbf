"""``gkreport rules check FILE…`` and the global ``--rules DIR`` option.

``rules check`` validates a form file (``form-*.json``) or an overlay file
(``overlay-*.json``) exactly as loading would (schema, then every reference), and prints
each identity the rules expand to, so an analyst sees ``t2.total.natural = …`` before
any report is checked with it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from gkreport.core.exits import HELP as EXIT_HELP
from gkreport.core.exits import Exit, UsageError

from .guard import guarded, say

_OPS = {"equal": "="}


@contextlib.contextmanager
def rules_option(argv: Sequence[str]) -> Iterator[None]:
    """Apply ``--rules DIR`` (given before the command name) for the command's duration:
    as ``GKREPORT_RULES_DIR``, so the parser's ``--form`` choices, every loader and the
    worker processes all see the same rules."""
    value = _rules_value(argv)
    if value is None:  # most commands: nothing more is imported (``--version`` stays cheap)
        yield
        return
    from gkreport.core.overlay import RULES_ENV

    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--rules：规则覆盖目录不存在或不是文件夹：{folder}")
    before = os.environ.get(RULES_ENV)
    os.environ[RULES_ENV] = str(folder.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RULES_ENV, None)
        else:
            os.environ[RULES_ENV] = before


def _rules_value(argv: Sequence[str]) -> str | None:
    """The value of ``--rules`` among the options before the command name."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--rules" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--rules="):
            return arg.split("=", 1)[1]
        if not arg.startswith("-"):
            return None  # the command name: later options are the command's
    return None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="检查规则文件（表式定义或省级规则覆盖）并列出展开后的勾稽关系",
                       description="规则文件的工具。规则覆盖目录（--rules 或 GKREPORT_RULES_DIR）中可放 "
                                   "form-<版本>.json（完整表式）和 overlay-*.json（增加、停用规则，调整严重程度）。")
    inner = p.add_subparsers(dest="rules_command", required=True, metavar="子命令", title="子命令")
    c = inner.add_parser("check", help="检查一个或多个规则文件，列出展开后的勾稽关系",
                         description="按加载时的全部检查（schema、单元格、集合、占位符、规则编号）检查规则文件，"
                                     "并列出每条勾稽关系展开后的各个等式。")
    c.add_argument("files", nargs="+", type=Path, metavar="文件", help="form-*.json 或 overlay-*.json")
    c.add_argument("-q", "--quiet", action="store_true", help="只报告结果，不列出展开后的等式")
    c.epilog = ("示例：\n  gkreport rules check 省级规则/overlay-2021.json\n"
                "  gkreport rules check rules/form-2021.json -q\n\n" + EXIT_HELP)
    c.set_defaults(func=guarded(cmd_rules_check))


def cmd_rules_check(args: argparse.Namespace) -> int:
    from gkreport.core.forms import FormError

    code = Exit.OK
    for path in args.files:
        try:
            for line in check_file(path, quiet=args.quiet):
                print(line)
        except FormError as e:
            say(f"错误：{e}")
            code = Exit.UNUSABLE
    return code


def check_file(path: Path, *, quiet: bool = False) -> list[str]:
    """The report of one file: a summary line, then each rule's expanded identities."""
    from gkreport.core import overlay
    from gkreport.core.form_parse import parse_form
    from gkreport.core.form_schema import OVERLAY_SCHEMA, FormError, validate
    from gkreport.core.forms import RuleDef, load_base_form

    if not path.is_file():
        raise FormError(f"{path}：文件不存在")
    doc, _ = overlay.read_json(path)
    if not isinstance(doc, dict):
        raise FormError(f"{path}：应为一个 JSON 对象")
    if "tables" in doc or path.name.startswith("form-"):
        form = parse_form(doc, path)
        if path.name.startswith("form-") and path.stem.removeprefix("form-") != form.version:
            raise FormError(f"{path}：文件名的版本与其中的 \"form\": \"{form.version}\" 不一致")
        shown: list[RuleDef] = list(form.rules)
        lines = [f"{path}：有效（{form.name}，{len(form.cells)} 个数据单元格，{len(form.rules)} 条规则，"
                 f"{sum(len(r.instances) for r in form.rules)} 个勾稽等式）"]
    else:
        validate(doc, path, OVERLAY_SCHEMA)
        base = load_base_form(doc["form"])
        base_doc, _ = overlay.read_json(base.source)
        origins: dict[str, str] = {}
        merged = overlay.apply(base_doc, [(path, doc)], origins)
        form = parse_form(merged, base.source, validated=True, origins=origins)
        shown = [form.rule(rid) for rid in origins]
        lines = [f"{path}：有效（用于{form.name}）" + _overlay_summary(doc)]
    if not quiet:
        for rule in shown:
            lines.extend(_rule_lines(rule))
    return lines


def _overlay_summary(doc: dict[str, Any]) -> str:
    from gkreport.core.forms import SEVERITY_LABEL

    parts = []
    if doc.get("disable"):
        parts.append(f"停用 {len(doc['disable'])} 条规则（{'、'.join(doc['disable'])}）")
    if doc.get("add"):
        parts.append(f"新增 {len(doc['add'])} 条规则")
    if doc.get("severity"):
        parts.append("调整严重程度：" + "、".join(f"{k} → {SEVERITY_LABEL[v]}" for k, v in doc["severity"].items()))
    return "：" + "；".join(parts) if parts else "：没有改动"


def _rule_lines(rule: Any) -> list[str]:
    from gkreport.core import rule_types
    from gkreport.core.forms import SEVERITY_LABEL

    head = f"{rule.id}（{SEVERITY_LABEL[rule.severity]}，{rule.type}）{rule.title}"
    if not rule.instances:
        return [head, f"  {rule_types.get(rule.type).summary}"]
    op = _OPS.get(rule.type, rule.op or ">=")
    return [head] + [f"  {identity_text(inst, op)}" for inst in rule.instances]


def identity_text(inst: Any, op: str = "=") -> str:
    """``t2.total.natural = t2.granted.natural + 2×t2.x.natural − 5`` for one instance."""
    return f"{_side(inst.left, inst.left_const)} {op} {_side(inst.right, inst.right_const)}"


def _side(terms: Sequence[Any], const: int) -> str:
    parts = []
    for t in terms:
        name = ("prev:" if t.prev else "") + t.cell
        size = abs(t.coef)
        parts.append(("− " if t.coef < 0 else "+ ") + (f"{size}×" if size != 1 else "") + name)
    if const:
        parts.append(("− " if const < 0 else "+ ") + str(abs(const)))
    if not parts:
        return "0"
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else "−" + text[2:]
