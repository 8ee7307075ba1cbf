"""``gkreport check FILE... [--json] [--mark OUTDIR] [--previous FILE]``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from gkreport.core.exits import HELP as EXIT_HELP
from gkreport.core.exits import Exit, UsageError, worst
from gkreport.core.forms import SEVERITY_LABEL, available_forms
from gkreport.markers.check_batch import BatchOptions, check_files, plan_jobs
from gkreport.markers.checking import FileResult, MarkPlan
from gkreport.output.outputs import OutputError, clean_stale_temps, os_error_text, output_lock
from gkreport.readers import ReadError, read_any
from gkreport.readers.inputs import collect_files

from . import cli_publish
from .console import Progress, mark, tally
from .guard import guarded

MARKS_LOCK = "gkreport-marks"  # one `check --mark` at a time per output folder


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="校验报表：找出合计、勾稽关系、数值格式等问题，可输出标注副本",
                       description="校验报表：找出合计、勾稽关系、数值格式等问题，用中文说明错在哪、应为多少。"
                                   "多个文件由多个进程并行读取（与汇总的读取方式相同，结论与逐个校验完全相同），"
                                   "结果按文件顺序输出，终端上显示进度，最后一行是合计。",
                       epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help="要校验的文件（.xlsx，或已发布报告的 .docx/.html/.txt），或文件夹（含子文件夹中的报表）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出全部结果")
    p.add_argument("--mark", type=Path, metavar="OUTDIR",
                   help="为有错误或警告的报表写标注副本（<文件名>.checked.xlsx）到此文件夹（保留子文件夹结构），"
                        "没有问题（或只有提示）的报表不写；结果中注明哪些文件有副本；源文件不会被修改")
    p.add_argument("--mark-all", action="store_true", help="与 --mark 一起使用：为每个读取成功的报表都写标注副本")
    p.add_argument("--previous", type=Path, metavar="FILE", help="上一年度的报告，用于结转、现行有效件数等跨年度校验")
    p.add_argument("--form", choices=available_forms(), help="指定表式版本（默认自动识别）")
    p.add_argument("--year", type=int, help="报告年度（文件中没有填写时使用）")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="只列出有错误、无法读取或写了标注副本的文件（各一行）和最后的合计；没有问题的文件不输出")
    p.add_argument("--jobs", type=int, metavar="N", help="并行读取的进程数（默认为 CPU 核数）")
    p.add_argument("--no-cache", action="store_true",
                   help="校验多个文件时每个都重新读取（默认：内容未变的文件沿用上次的校验结果，规则或程序更新后自动重读）")
    cli_publish.add_notices_option(p)
    p.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    if args.mark_all and args.mark is None:
        raise UsageError("--mark-all 需要与 --mark 输出文件夹一起使用")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs 至少为 1")
    previous = None
    if args.previous is not None:
        try:
            previous = read_any(args.previous, mode="fast")  # the full reader's Report, or the full reader
        except ReadError as e:
            raise UsageError(f"上一年度报告 {args.previous} 无法读取：{e}") from None
    plan = MarkPlan(args.mark) if args.mark is not None else None
    files: list[Path] = []
    for f in args.files:
        if not f.is_dir():
            files.append(f)  # named explicitly: always tried, the reader says what is wrong
            if plan is not None:
                plan.add_input(f)
            continue
        found, skipped = collect_files([f])
        print_skipped(skipped)
        if not found:
            raise UsageError(f"文件夹 {f} 中没有可校验的报表")
        files.extend(found)
        if plan is not None:
            for p in found:
                plan.add_input(p, p.parent.relative_to(f))
    if plan is not None and args.previous is not None:
        plan.add_input(args.previous)
    options = BatchOptions(form=args.form, year=args.year, previous=previous, mark_all=args.mark_all,
                           keep_reports=args.notices is not None)
    jobs = plan_jobs(files, plan)  # (after every input is known: a copy never replaces one)
    progress = Progress(len(files), "校验", enabled=None if not args.json else False)
    with _marks_folder(plan):
        results = []
        for result in check_files(jobs, options, args.jobs, cache=len(files) > 1 and not args.no_cache):
            results.append(result)
            if not args.json:
                progress.clear()
                print_result(result, quiet=args.quiet)
            progress.step(result.file.name)
        progress.clear()
    if not args.json and plan is not None:
        print(marks_line(results, plan.outdir, mark_all=args.mark_all))
    if not args.json and len(results) > 1:
        print(tally_line(results))
        if reused := sum(1 for r in results if r.reused):
            print(f"其中 {reused} 份与以前校验时读过的内容完全相同，沿用了当时的结果（加 --no-cache 则全部重新读取）")
    if args.json:
        json.dump([r.to_dict() for r in results], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    if (failed := cli_publish.check_notices(args, results)) is not None:
        return worst(failed, exit_code(results))
    return exit_code(results)


def marks_line(results: list[FileResult], outdir: Path, *, mark_all: bool) -> str:
    """How many marked copies were written, and for which files (without --mark-all only for
    files with errors or warnings: a copy of a clean report would show nothing to fix)."""
    n = sum(1 for r in results if r.marked)
    which = "每个读取成功的报表" if mark_all else "有错误或警告的报表（其他报表加 --mark-all 也可生成）"
    return f"标注副本 {n} 份，写入 {outdir}：为{which}生成"


def exit_code(results: list[FileResult]) -> int:
    """3 if gkreport failed on a file, else 2 if a file could not be read or marked,
    else 1 if a report has an error finding, else 0."""
    return worst(*(Exit.INTERNAL if r.internal else Exit.UNUSABLE if r.error
                   else Exit.FINDINGS if r.counts["error"] else Exit.OK for r in results))


@contextlib.contextmanager
def _marks_folder(plan: MarkPlan | None) -> Iterator[None]:
    """The marked copies' folder: a folder (made if missing), swept of what a killed run
    left, and held by this run alone."""
    if plan is None:
        yield
        return
    out = plan.outdir
    if out.exists() and not out.is_dir():
        raise OutputError(f"标注副本的输出位置 {out} 不是文件夹")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"无法创建文件夹 {out}：{os_error_text(e)}") from None
    for folder in {out, *(out / sub for sub in plan.subfolders.values())}:
        clean_stale_temps(folder)  # (a folder that does not exist yet has nothing to clean)
    with output_lock(out / MARKS_LOCK, label=f"标注副本文件夹 {out}"):
        yield


def tally_line(results: list[FileResult]) -> str:
    """The run's last line: how many passed, had errors, could not be read."""
    unreadable = sum(1 for r in results if r.unreadable)
    errors = sum(1 for r in results if not r.unreadable and r.counts["error"])
    return tally(len(results) - unreadable - errors, errors, unreadable)


def print_skipped(skipped: list[tuple[Path, str]], limit: int = 3) -> None:
    """One stderr line per reason (a folder with 500 PDFs is one line, not 500), a few names each."""
    by_reason: dict[str, list[Path]] = {}
    for p, why in skipped:
        by_reason.setdefault(why, []).append(p)
    for why, paths in by_reason.items():
        names = "、".join(p.name for p in paths[:limit]) + (" 等" if len(paths) > limit else "")
        head = f"跳过 {len(paths)} 个文件（{names}）" if len(paths) > 1 else f"跳过：{paths[0]}"
        print(f"{head}：{why}", file=sys.stderr)


def print_result(r: FileResult, *, quiet: bool = False) -> None:
    """A file's result; ``quiet``: one line, and only for a file with errors, unreadable, or
    given a marked copy (a file with only warnings gets one: where it is must be said)."""
    if r.unreadable:
        print(f"{mark('bad')} {r.file}：" + ("" if r.internal else "无法读取 —— ") + (r.error or ""))
        return
    rep = r.info
    assert rep is not None
    c = r.counts
    if quiet and not c["error"] and not r.error and not r.marked:  # (a copy is always said)
        return
    state = f"{mark('ok')} 未发现错误" if not c["error"] else f"{mark('bad')} 错误 {c['error']} 项"
    print(f"{state}｜{r.file}｜{rep.agency or '（未填单位）'}｜{rep.year or '（未填年度）'}年度｜{rep.form_name}"
          f"｜错误 {c['error']}，警告 {c['warning']}，提示 {c['info']}")
    if r.error:
        print(f"    错误：{r.error}")
    if r.marked:
        made = "（原文件不是填报表：已按读出的数据新生成填报表并标注）" if r.marked_is_new else ""
        print(f"    标注副本{made}：{r.marked}")
    if quiet:
        return
    for f in r.findings:
        where = f"{f.sheet.split(' ')[0]} {(f.suspects or f.cells or ('',))[0]}" if f.sheet else ""
        print(f"    [{SEVERITY_LABEL[f.severity]}] {where:<10} {f.rule:<18} {f.message}")
