"""Command line: ``gkreport template|describe|check|consolidate|import|addin|demo``.

Exit codes are defined once, in :mod:`gkreport.exits`. :func:`main` and every command
run inside the one guard, :mod:`gkreport.guard`: whatever happens, the user reads one
Chinese line, never a traceback (an internal error's traceback goes to the log file
that line names).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .exits import HELP as EXIT_HELP
from .exits import Exit, UsageError
from .guard import guarded, run_guarded
from .outputs import check_output, output_lock

# Everything heavier (openpyxl, the forms) is imported inside the guard: a Ctrl+C while
# the libraries load is then "已中断", exit 130, like one at any other moment.

__all__ = ["Exit", "UsageError", "build_parser", "main"]


def _form_arg(p: argparse.ArgumentParser, default: str | None = "2021") -> None:
    from .forms import available_forms

    p.add_argument("--form", choices=available_forms(), default=default,
                   help="表式版本：2019（2019、2020年度）或 2021（2021年度及以后）")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gkreport",
        description="政府信息公开工作年度报告：模板、校验、标注、汇总。",
        epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gkreport {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")

    p = sub.add_parser("template", help="生成官方表式的 Excel 填报模板")
    _form_arg(p)
    p.add_argument("-o", "--output", type=Path, help="输出文件（默认：当前目录下的 gkreport-template-<版本>.xlsx）")
    p.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    p.set_defaults(func=guarded(cmd_template))

    p = sub.add_parser("describe", help="列出表式中的每个数据单元格和表头字段")
    _form_arg(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=guarded(cmd_describe))

    _register_optional(sub)
    return parser


def _register_optional(sub: argparse._SubParsersAction) -> None:
    """Subcommands that live in their own modules register themselves here."""
    from . import cli_commands

    cli_commands.register(sub)


def cmd_template(args: argparse.Namespace) -> int:
    from .forms import load_form
    from .template import template_filename, write_template

    form = load_form(args.form)
    out: Path = check_output(args.output or Path(template_filename(form.version)), force=args.force)
    with output_lock(out):
        write_template(form, out)
    print(f"已生成 {form.name} 填报模板：{out}")
    return Exit.OK


def cmd_describe(args: argparse.Namespace) -> int:
    from .describe import describe
    from .forms import load_form

    form = load_form(args.form)
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
    """Run one command; returns its exit code (:class:`gkreport.exits.Exit`)."""
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
        # shutdown (joining worker threads) must not turn the result into a signal death.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def _parse_and_run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on a wrong call already; keep its code
        return int(e.code or 0) if isinstance(e.code, int | None) else Exit.UNUSABLE
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
