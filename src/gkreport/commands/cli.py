"""Command line: ``gkreport template|describe|check|consolidate|import|publish|rules|addin|demo``.

Exit codes are defined once, in :mod:`gkreport.core.exits`. :func:`main` and every command
run inside the one guard, :mod:`gkreport.commands.guard`: whatever happens, the user reads one
Chinese line, never a traceback (an internal error's traceback goes to the log file
that line names).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from gkreport import __version__
from gkreport.core.exits import HELP as EXIT_HELP
from gkreport.core.exits import Exit, UsageError

from .cli_commands import LazySubcommands, register
from .guard import guarded, run_guarded

if TYPE_CHECKING:  # pragma: no cover
    from gkreport.core.forms import Form

# Start-up is part of every command (and of every ribbon click): this module imports only
# the standard library and gkreport's small modules. The forms, openpyxl and each command's
# libraries are imported inside the guard, by the command that runs (cli_commands.py), so
# ``--version`` and ``-h`` import nothing heavy (pinned by tests/test_startup.py), and a
# Ctrl+C while libraries load is "已中断", exit 130, like one at any other moment.

__all__ = ["Exit", "UsageError", "build_parser", "main"]


def _form_arg(p: argparse.ArgumentParser, default: str | None = None) -> argparse._MutuallyExclusiveGroup:
    """``--form VERSION`` or ``--year YEAR`` (the form whose years cover it); neither: last year's form."""
    group = p.add_mutually_exclusive_group()
    form = group.add_argument("--form", default=default, help="表式版本（可选值见上；默认按上一年度选择）")
    form.choices = FormVersions()  # set after add_argument, which would list them to check the metavar
    group.add_argument("--year", type=int, help="报告年度：使用该年度适用的表式（与 --form 二选一）")
    return group


def _chosen_form(args: argparse.Namespace) -> Form:
    """The form of ``--form``, else of ``--year``, else of last year (reports are filled the year after)."""
    from gkreport.core.forms import FormError, load_form
    from gkreport.core.forms_meta import form_for_report_year

    if args.form:
        return load_form(args.form)
    year = args.year if args.year is not None else dt.date.today().year - 1
    try:
        return form_for_report_year(year)
    except FormError as e:
        raise UsageError(str(e)) from None


class FormVersions:
    """``--form``'s choices, listed when argparse first needs them (a command's help, or
    checking a ``--form`` value): building the parser does not import the forms, so
    ``gkreport --version`` and ``-h`` stay cheap."""

    def __contains__(self, version: object) -> bool:
        return version in self._versions()

    def __iter__(self) -> Iterator[str]:
        return iter(self._versions())

    def __len__(self) -> int:
        return len(self._versions())

    @staticmethod
    def _versions() -> tuple[str, ...]:
        from gkreport.core.forms import available_forms

        return available_forms()


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseParser(
        prog="gkreport",
        description="政府信息公开工作年度报告：模板、校验、标注、汇总、发布。",
        epilog=_examples("gkreport") + EXIT_HELP,
    )
    parser.add_argument("--version", action="version", version=f"gkreport {__version__}", help="显示版本号并退出")
    parser.add_argument("--rules", metavar="目录", type=Path,
                        help="规则覆盖目录：增加表式、增加或停用规则、调整严重程度（也可用环境变量 "
                             "GKREPORT_RULES_DIR；写在命令名之前）")
    sub = cast(LazySubcommands, parser.add_subparsers(dest="command", required=True, metavar="命令", title="命令",
                                                      action=LazySubcommands))

    p = sub.add_parser("template", help="生成官方表式的 Excel 填报模板")
    _form_arg(p)
    p.add_argument("-o", "--output", type=Path, help="输出文件（默认：当前目录下的 gkreport-template-<版本>.xlsx）")
    p.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    p.set_defaults(func=guarded(cmd_template))

    p = sub.add_parser("describe", help="列出表式中的每个数据单元格和表头字段")
    _form_arg(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=guarded(cmd_describe))

    register(sub)  # the commands that live in their own modules, imported when run
    for name, command in sub.choices.items():  # every subcommand: an example and the exit codes
        _add_epilog(name, command)
    sub.on_load = _add_epilog  # the commands built when they are run, too
    return parser


def _add_epilog(name: str, command: argparse.ArgumentParser) -> None:
    command.epilog = _examples(name) + EXIT_HELP


EXAMPLES: dict[str, tuple[str, ...]] = {
    "gkreport": ("gkreport template -o 填报表.xlsx", "gkreport check 收到的报表/ --mark 标注副本/",
                 "gkreport consolidate 收到的报表/ --roster 名单.xlsx -o 全县汇总.xlsx",
                 "gkreport 命令 -h          （查看某个命令的说明）"),
    "template": ("gkreport template --year 2024 -o 2024年度填报表.xlsx",),
    "describe": ("gkreport describe --year 2024", "gkreport describe --json > 单元格.json"),
    "check": ("gkreport check 某某局.xlsx", "gkreport check 收到的报表/ -q",
              "gkreport check 收到的报表/ --mark 标注副本/ --notices 退回通知/",
              "gkreport check 2024年报.xlsx --previous 2023年报.xlsx"),
    "consolidate": ("gkreport consolidate 收到的报表/ -o 全县汇总.xlsx",
                    "gkreport consolidate 收到的报表/ --roster 名单.xlsx -o 全县汇总.xlsx --notices 退回通知/",
                    "gkreport consolidate 各县汇总/ -o 全市汇总.xlsx --strict"),
    "import": ("gkreport import 某某局2023年报.docx -o 某某局2023.xlsx", "gkreport import 年报.txt -o 表.xlsx --year 2023"),
    "publish": ("gkreport publish 某某局.xlsx -o 2024年度报告.docx", "gkreport publish 某某局.xlsx -o 年报.html"),
    "addin": ("gkreport addin install", "gkreport addin build -o gkreport.xlam",
              "gkreport addin offline-bundle -o 离线安装包"),
    "demo": ("gkreport demo",),
    "rules": ("gkreport rules check 省级规则/overlay-2021.json", "gkreport rules check rules/form-2021.json",
              "gkreport --rules 省级规则/ check 收到的报表/"),
}


def _examples(name: str) -> str:
    lines = EXAMPLES.get(name, ())
    return ("示例：\n" + "".join(f"  {x}\n" for x in lines) + "\n") if lines else ""


class _ChineseFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help with Chinese headings (its own words come from gettext, English here)."""

    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


_ARGPARSE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"argument (\S+): invalid choice: '?(.*?)'? \(choose from (.*)\)"), "参数 {0}：“{1}”不是可选的值（可选：{2}）"),
    (re.compile(r"the following arguments are required: (.*)"), "缺少必需的参数：{0}"),
    (re.compile(r"unrecognized arguments: (.*)"), "无法识别的参数：{0}"),
    (re.compile(r"argument (\S+): expected one argument"), "参数 {0} 后面需要一个值"),
    (re.compile(r"argument (\S+): invalid int value: '(.*)'"), "参数 {0}：“{1}”不是整数"),
    (re.compile(r"argument (\S+): invalid (\w+) value: '(.*)'"), "参数 {0}：“{2}”不是有效的值"),
    (re.compile(r"argument (\S+): not allowed with argument (\S+)"), "参数 {0} 不能与 {1} 同时使用"),
    (re.compile(r"argument (\S+): ambiguous option: (.*)"), "参数 {0} 有歧义：{1}"),
)


def chinese_error(message: str) -> str:
    """argparse's English error in Chinese (unknown wordings are passed through unchanged)."""
    for pattern, text in _ARGPARSE_ERRORS:
        m = pattern.fullmatch(message.strip())
        if m:
            said = text.format(*(g.replace("'", "") for g in m.groups()))
            if m.group(1) == "--form" and "choice" in pattern.pattern:
                from gkreport.core.forms_meta import all_forms, years_text

                said += "。--form 是表式版本，不是报告年度：" + "，".join(
                    f"{years_text(f)}用 {f.version} 版" for f in all_forms()) + "（报告年度请用 --year）"
            return said
    return message


class ChineseParser(argparse.ArgumentParser):
    """An ArgumentParser whose headings, help and errors are Chinese; subcommands inherit it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["formatter_class"] = _ChineseFormatter
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "显示本说明并退出"

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(Exit.UNUSABLE, f"{self.prog}：错误：{chinese_error(message)}\n")


def cmd_template(args: argparse.Namespace) -> int:
    from .runtime import import_openpyxl

    import_openpyxl()
    from gkreport.output.outputs import check_output, output_lock
    from gkreport.output.template import template_filename, write_template

    form = _chosen_form(args)
    out: Path = check_output(args.output or Path(template_filename(form.version)), force=args.force)
    with output_lock(out):
        write_template(form, out)
    print(f"已生成 {form.name} 填报模板：{out}")
    return Exit.OK


def cmd_describe(args: argparse.Namespace) -> int:
    import json

    from gkreport.core.describe import describe

    form = _chosen_form(args)
    records = describe(form)
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return Exit.OK
    for r in records:
        where = f"{r['sheet']}!{r['cell']}"
        label = r["row"] + (f" | {r['column']}" if r["column"] else "")
        print(f"{r['id']:<28} {where:<22} {r['kind']:<7} {r['type']:<7} {label}")
    return Exit.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (:class:`gkreport.core.exits.Exit`)."""
    if not sys.warnoptions:
        # Library warnings (openpyxl on an unusual part) are English noise the user cannot act
        # on; what matters about a file is in gkreport's own messages.
        warnings.simplefilter("ignore")
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    code = run_guarded(_parse_and_run, argv)
    if argv is None:
        # The console script: the work is done and reported; a Ctrl+C during the interpreter's
        # shutdown (joining worker threads) must not turn the result into a signal death, and
        # an error Python can only ignore then goes to the log, not to the screen.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.unraisablehook = _log_unraisable
    return code


def _log_unraisable(u: Any) -> None:
    """An exception Python could not raise (a ``__del__``, a worker pool's wakeup pipe already
    closed at exit: a CPython race after a pool was interrupted): logged, never a traceback on
    the screen after the command has given its result."""
    import traceback

    from .runtime import append_log, log_candidates

    text = "".join(traceback.format_exception(u.exc_type, u.exc_value, u.exc_traceback))
    header = f"gkreport {__version__} ignored at exit: {u.err_msg or 'Exception ignored'} {u.object!r}"
    for path in log_candidates():
        if append_log(header, text, path):
            return


def _parse_and_run(argv: Sequence[str] | None) -> int:
    from .cli_rules import rules_option

    with rules_option(sys.argv[1:] if argv is None else argv):  # before the parser lists the forms
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:  # argparse exits 2 on a wrong call already; keep its code
            return int(e.code or 0) if isinstance(e.code, int | None) else Exit.UNUSABLE
        return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
