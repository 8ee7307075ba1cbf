"""``gkreport publish REPORT -o 年报.docx|.html``: the annual report ready to publish.

The report is read like ``check`` reads it (a template workbook, a checked copy, or a
published report in any format ``import`` reads) and checked first: the document is
written even when the data has errors (the clerk may want to see it), but the errors are
printed and the exit code is 1, so nothing wrong goes out unnoticed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gkreport.core.engine import check
from gkreport.core.exits import Exit, UsageError
from gkreport.core.findings import count_by_severity
from gkreport.core.forms import SEVERITY_LABEL, available_forms
from gkreport.output.outputs import OutputError, check_output, os_error_text, output_lock
from gkreport.readers import ReadError, read_any

from .guard import guarded

if TYPE_CHECKING:
    from gkreport.consolidation.consolidate import Consolidation
    from gkreport.markers.checking import FileResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish", help="生成可发布的年度报告（Word 或网页）：六部分提纲、官方表格、由表格生成的数据语句",
        description="把已校验的报表生成政府信息公开工作年度报告：一至六部分的提纲，三张与官方表式完全一致的表格"
                    "（含全部合并单元格），由表格数据生成的语句；需要人工撰写的部分以黄色标出的提示文字占位。",
    )
    p.add_argument("report", type=Path, metavar="REPORT", help="报表文件（填报模板、校验副本，或已发布报告的 .docx/.html/.txt）")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="年报.docx|.html", help="输出文件：.docx 或 .html")
    p.add_argument("--form", choices=available_forms(), help="指定表式版本（默认自动识别）")
    p.add_argument("--year", type=int, help="报告年度（文件中没有填写时使用）")
    p.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    p.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    from gkreport.publish import FORMATS, build_publication, publish  # (not for check's and consolidate's --notices)

    out: Path = check_output(args.output, suffixes=FORMATS, force=args.force, inputs=[args.report])
    try:
        report = read_any(args.report, args.form, args.year)
    except ReadError as e:
        raise UsageError(f"{args.report} 无法读取：{e}") from None
    findings = check(report)
    with output_lock(out):
        written = publish(report, out)
    pub = build_publication(report)
    todo = sum(1 for s in pub.sections for p in s.parts if getattr(p, "todo", False)) + sum(
        1 for p in (*pub.intro, *pub.signature) if p.todo)
    print(f"已生成年度报告：{written}（{report.form.name}，{report.agency or '未填单位'}，"
          f"{report.year or '未填年度'}年度）")
    print(f"请在文中 {todo} 处黄色提示文字的位置填写正文，再发布。")
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        c = count_by_severity(findings)
        print(f"注意：报表有 {c['error']} 个错误，发布前请先更正：", file=sys.stderr)
        for f in errors:
            print(f"    [{SEVERITY_LABEL[f.severity]}] {f.message}", file=sys.stderr)
        return Exit.FINDINGS
    return Exit.OK


# ------------------------------------------------------------------------------ --notices (check, consolidate)


def add_notices_option(p: argparse.ArgumentParser, *, consolidate: bool = False) -> None:
    """``--notices DIR`` for ``check`` and ``consolidate`` (registered from their modules)."""
    more = "；另生成名单中未报送单位的“催报清单.docx”（需 --roster），每份通知旁附标注副本" if consolidate else \
        "；给出 --mark 时，标注副本也复制到此文件夹"
    p.add_argument("--notices", type=Path, metavar="DIR",
                   help="为每个有错误的单位生成“退回修改通知”（.docx，可打印签发）" + more)


def _prepared(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"错误：无法创建通知文件夹 {folder}（{os_error_text(e)}）", file=sys.stderr)
        return False
    return True


def check_notices(args: argparse.Namespace, results: list[FileResult]) -> int | None:
    """Write return notices after ``check``; an exit code only when the folder is unusable."""

    def write(folder: Path) -> list[Path]:
        from gkreport.commands.runtime import import_openpyxl

        import_openpyxl()  # (check imports openpyxl only where needed: here without numpy, as before)
        from gkreport.output.notices import write_check_notices  # python-docx: only when --notices is given

        return write_check_notices(results, folder)

    return _write_notices(args, write)


def consolidation_notices(args: argparse.Namespace, result: Consolidation) -> int | None:
    """Write return notices and the chase list after ``consolidate``."""
    from gkreport.output.notices import write_chase_list, write_consolidation_notices
    from gkreport.readers.inputs import CHASE_NAME

    def write(folder: Path) -> list[Path]:
        written = write_consolidation_notices(result, folder)
        if result.roster is not None:
            written.append(write_chase_list(result, folder / CHASE_NAME))
        return written

    return _write_notices(args, write)


def _write_notices(args: argparse.Namespace, write: Callable[[Path], list[Path]]) -> int | None:
    """``--notices DIR`` for both commands: the folder made, ``write(folder)`` run, what was
    written said; an exit code only when the folder or a document cannot be written."""
    folder: Path | None = getattr(args, "notices", None)
    if folder is None:
        return None
    if not _prepared(folder):
        return Exit.UNUSABLE
    try:
        written = write(folder)
    except (OSError, OutputError) as e:
        print(f"错误：无法写入退回修改通知（{os_error_text(e) if isinstance(e, OSError) else e}）", file=sys.stderr)
        return Exit.UNUSABLE
    _say_written(written, folder)
    return None


def _say_written(written: list[Path], folder: Path) -> None:
    if not written:
        print(f"没有需要退回修改的报表，未生成通知（{folder}）", file=sys.stderr)
        return
    print(f"已生成 {len(written)} 份文件到 {folder}：", file=sys.stderr)
    for p in written:
        print(f"    {p.name}", file=sys.stderr)
