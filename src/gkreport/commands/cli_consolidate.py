"""``gkreport consolidate DIR_OR_FILES... -o summary.xlsx [--year Y] [--form V] [--roster FILE] ...``.

Exit codes (:mod:`gkreport.core.exits`): 0 = summary written and no error findings; 1 = an
included agency or the summary itself has error findings (the summary is still
written, so the person can see where); 2 = the call is wrong, the output cannot be
written (exists without ``--force``, is an input, a folder, a special file, locked by
another run), or there is no usable file at all; 3 = an internal error (logged).
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

from gkreport.consolidation import rollup
from gkreport.consolidation.consolidate import (
    ISSUES_SHEET,
    STATUS_SHEET,
    Consolidation,
    FileEntry,
    NothingToSum,
    consolidate,
    roster_line,
    write_summary,
)
from gkreport.consolidation.roster import roster_counts
from gkreport.core.exits import HELP as EXIT_HELP
from gkreport.core.exits import Exit, UsageError, worst
from gkreport.core.findings import count_by_severity
from gkreport.core.forms import SEVERITY_LABEL, available_forms
from gkreport.output.outputs import OutputError, check_output, clean_stale_temps, output_lock
from gkreport.readers.inputs import collect_files
from gkreport.readers.ooxml import sheet_parts

from . import cli_publish
from .console import mark
from .guard import guarded


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("consolidate", help="汇总多个单位的报表：生成全县汇总表、报送情况、问题清单和明细",
                       epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", type=Path, metavar="DIR_OR_FILE", help="各单位报表所在文件夹（含子文件夹）或文件")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="SUMMARY.xlsx", help="汇总工作簿的保存位置")
    p.add_argument("--year", type=int, help="汇总的报告年度（默认取多数文件的年度）")
    p.add_argument("--form", choices=available_forms(), help="汇总的表式版本（默认取多数文件的版本）")
    p.add_argument("--roster", type=Path, metavar="FILE", help="应报送单位名单（.xlsx 或 .csv，列：单位名称，可选 层级）")
    p.add_argument("--region", metavar="地区", help="本次汇总的地区（写入汇总表的“所属地区”；逐级汇总时，上一级据此识别"
                   "各地区的汇总表，文件夹中本地区以前的汇总表则跳过）。默认取各单位报表所填的所属地区")
    p.add_argument("--strict", action="store_true", help="有错误的报表不纳入汇总（默认纳入并标注）")
    p.add_argument("--long", action="store_true", help="另加“明细（长表）”工作表（每单位每单元格一行）")
    p.add_argument("--force", action="store_true", help="输出文件已存在时覆盖")
    p.add_argument("--json", action="store_true", help="以 JSON 输出汇总结果")
    p.add_argument("--jobs", type=int, metavar="N", help="并行读取的进程数（默认为 CPU 核数）")
    p.add_argument("--no-cache", action="store_true",
                   help="每个文件都重新读取（默认：内容未变的文件沿用上次读取的结果，规则或程序更新后自动重读）")
    cli_publish.add_notices_option(p, consolidate=True)
    p.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    out: Path = args.output
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs 至少为 1")
    if args.roster is not None and not args.roster.is_file():
        raise UsageError(f"名单文件 {args.roster} 不存在")
    check_output(out, force=args.force, inputs=_inputs_at(out, args.inputs, args.roster), what="汇总输出文件")
    clean_stale_temps(out.parent if str(out.parent) else Path("."))
    with output_lock(out):
        result = consolidate(args.inputs, year=args.year, form=args.form, roster=args.roster,
                             strict=args.strict, jobs=args.jobs, progress=sys.stderr.isatty(), output=out,
                             region=args.region, prepare_summary=True, cache=not args.no_cache)
        if not result.included:
            if args.json:
                _json(result, None)
            else:
                print_consolidation(result, None)
            raise NothingToSum(result)
        try:
            written = write_summary(result, out, force=args.force, long=args.long, progress=sys.stderr.isatty())
        except FileExistsError as e:
            raise OutputError(str(e)) from None
    if args.json:
        _json(result, written)
    else:
        print_consolidation(result, written)
    failed = cli_publish.consolidation_notices(args, result)
    if any(e.summary.internal for e in result.entries):
        return Exit.INTERNAL  # the summary is written; a file met a bug in gkreport (see the log)
    # The summary is written, but without the files listed as unreadable: like `check`, exit 2
    # tells a script the county total is not yet the whole county.
    unreadable = Exit.UNUSABLE if any(e.summary.unreadable for e in result.entries) else Exit.OK
    return worst(failed if failed is not None else Exit.OK, unreadable,
                 Exit.FINDINGS if result.error_count else Exit.OK)


def _inputs_at(out: Path, inputs: list[Path], roster: Path | None) -> list[Path]:
    """The inputs ``out`` would overwrite: a file named on the command line, the roster, or a
    report in an input folder. A summary this tool wrote earlier into the folder is not an
    input (it is skipped when reading) and may be replaced with --force."""
    named = [p for p in [*inputs, roster] if p is not None and not p.is_dir()]
    if not out.is_file() or _is_summary(out):
        return named
    found, _ = collect_files([p for p in inputs if p.is_dir()])
    return [*named, *found]


def _is_summary(path: Path) -> bool:
    """Whether ``path`` is a summary workbook written by gkreport (its two status sheets)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return {STATUS_SHEET, ISSUES_SHEET} <= set(sheet_parts(zf))
    except Exception:  # not a readable workbook: not a summary
        return False


def print_consolidation(r: Consolidation, written: Path | None) -> None:
    """The run in words, for the terminal (also used by ``gkreport demo``)."""
    included = r.included
    excluded = [e for e in r.entries if not e.included]
    print(f"共找到 {len(r.entries)} 个文件，纳入汇总 {len(included)} 个，未纳入 {len(excluded)} 个"
          + (f"；汇总表式：{r.form.name}，{r.year or '（年度未知）'} 年度" if r.form else ""))
    reused = sum(1 for e in r.entries if e.summary.cached)
    if reused:
        print(f"其中 {reused} 个文件与以前汇总时读过的内容完全相同，沿用了当时的读取结果（加 --no-cache 则全部重新读取）")
    flagged = [e for e in included if e.summary.counts.get("error", 0)]
    if flagged:
        print(f"有错误但已纳入（{len(flagged)}）：")
        for e in flagged:
            print(f"    {mark('bad')} {e.file}｜{e.name}｜错误 {e.summary.counts['error']} 项")
    if excluded:
        print("未纳入：")
        for e in excluded:
            print(f"    - {e.file}：{e.reason}")
    _print_children(r)
    if r.roster is not None:
        print(roster_line(r))
        for m, note in r.missing:
            print(f"    未报送：{m.name}" + (f"（{note}）" if note else ""))
        for p in r.pending:
            print(f"    待确认：{p.agency}（{p.file}）{p.note}；已计入全县合计")
        for p in r.mismatched:
            if p.match is None:
                print(f"    名单外：{p.agency}（{p.file}）{p.note}；已计入全县合计")
        for e in r.renamed:
            print(f"    名称与名单略有不同：{e.summary.agency}（{e.file}）按名单中的 {e.name} 计入")
        for agency, file, kept in r.duplicates:
            print(f"    重复报送：{agency}（{file}，已纳入 {kept}）")
    c = count_by_severity(r.summary_findings)
    print(f"汇总表校验：错误 {c['error']}，警告 {c['warning']}，提示 {c['info']}")
    for finding in r.summary_findings:
        if finding.severity != "info":
            print(f"    [{SEVERITY_LABEL[finding.severity]}] {finding.rule}：{finding.message}")
    if written is not None:
        print(f"汇总工作簿：{written}")


def _print_children(r: Consolidation) -> None:
    """The regions' summaries summed one level up (逐级汇总), each with what it contains."""
    kids = rollup.children(r)
    if not kids:
        return
    own = len(r.included) - len(kids)
    print(f"纳入 {len(kids)} 个地区的汇总表，共含 {rollup.agency_count(r)} 个单位"
          + (f"（另有 {own} 份单位报表直接纳入）" if own else "") + "：")
    for e in kids:
        print(f"    {e.file}｜{e.reason}")
    if rollup.summary_region(r) is None:
        print("    提示：未用 --region 指明本次汇总的地区，汇总表的“所属地区”留空；再上一级汇总时将无法按地区识别这份汇总表")


def _json(r: Consolidation, written: Path | None) -> None:
    doc = {
        "output": str(written) if written else None,
        "form": r.form.version if r.form else None,
        "year": r.year,
        "files": [{"file": e.summary.path, "agency": e.summary.agency, "name": e.name, "year": e.summary.year,
                   "form": e.summary.form, "readable": e.summary.ok, "counts": e.summary.counts,
                   "included": e.included, "reason": e.reason, "level": e.level, "roster_name": e.roster_name,
                   "match": e.match.kind if e.match else None,
                   "summary_of": _contains(e), "reused": e.summary.cached} for e in r.entries],
        "region": rollup.summary_region(r) if r.included else r.region,
        "roster": roster_counts(r) if r.roster is not None else None,
        "missing": [{"name": m.name, "level": m.level, "note": n} for m, n in r.missing],
        "duplicates": [{"agency": a, "file": f, "kept": k} for a, f, k in r.duplicates],
        "mismatched": [{"agency": m.agency, "file": m.file, "suggestion": m.suggestion,
                        "score": round(m.score, 1) if m.score is not None else None, "note": m.note}
                       for m in r.mismatched],
        "renamed": [{"agency": e.summary.agency, "file": e.file, "roster_name": e.name} for e in r.renamed],
        "summary": r.sums,
        "levels": r.level_sums,
        "summary_findings": [f.to_dict() for f in r.summary_findings],
    }
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


def _contains(e: FileEntry) -> dict[str, object] | None:
    """For a region's summary among the inputs: its region and agencies (None for a report)."""
    m = rollup.manifest_of(e.summary)
    if m is None:
        return None
    return {"region": m.region, "agencies": [a.name for a in m.counted], "missing": [a.name for a in m.missing]}
