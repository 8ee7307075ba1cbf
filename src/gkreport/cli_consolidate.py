"""``gkreport consolidate DIR_OR_FILES... -o summary.xlsx [--year Y] [--form V] [--roster FILE] ...``.

Exit codes follow ``check``: 0 = summary written and no error findings; 1 = an
included agency or the summary itself has error findings (the summary is still
written, so the person can see where); 2 = the call is wrong, the output exists
without ``--force``, or there is no usable file at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import cli_publish
from .consolidate import Consolidation, consolidate, roster_line, write_summary
from .findings import count_by_severity
from .forms import SEVERITY_LABEL, available_forms
from .readers import ReadError
from .roster import roster_counts

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("consolidate", help="汇总多个单位的报表：生成全县汇总表、报送情况、问题清单和明细")
    p.add_argument("inputs", nargs="+", type=Path, metavar="DIR_OR_FILE", help="各单位报表所在文件夹（含子文件夹）或文件")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="SUMMARY.xlsx", help="汇总工作簿的保存位置")
    p.add_argument("--year", type=int, help="汇总的报告年度（默认取多数文件的年度）")
    p.add_argument("--form", choices=available_forms(), help="汇总的表式版本（默认取多数文件的版本）")
    p.add_argument("--roster", type=Path, metavar="FILE", help="应报送单位名单（.xlsx 或 .csv，列：单位名称，可选 层级）")
    p.add_argument("--strict", action="store_true", help="有错误的报表不纳入汇总（默认纳入并标注）")
    p.add_argument("--long", action="store_true", help="另加“明细（长表）”工作表（每单位每单元格一行）")
    p.add_argument("--force", action="store_true", help="输出文件已存在时覆盖")
    p.add_argument("--json", action="store_true", help="以 JSON 输出汇总结果")
    p.add_argument("--jobs", type=int, metavar="N", help="并行读取的进程数（默认为 CPU 核数）")
    cli_publish.add_notices_option(p, consolidate=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out: Path = args.output
    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        print(f"错误：输出文件应为 .xlsx：{out}", file=sys.stderr)
        return EXIT_UNUSABLE
    if out.exists() and not args.force:
        print(f"错误：输出文件 {out} 已存在；如需覆盖请加 --force", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.jobs is not None and args.jobs < 1:
        print("错误：--jobs 至少为 1", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.roster is not None and not args.roster.is_file():
        print(f"错误：名单文件 {args.roster} 不存在", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        result = consolidate(args.inputs, year=args.year, form=args.form, roster=args.roster,
                             strict=args.strict, jobs=args.jobs, progress=sys.stderr.isatty(), output=out)
    except ReadError as e:
        print(f"错误：{e}", file=sys.stderr)
        return EXIT_UNUSABLE
    if not result.included:
        if args.json:
            _json(result, None)
        else:
            print_consolidation(result, None)
        print("错误：没有可以汇总的报表", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        written = write_summary(result, out, force=args.force, long=args.long)
    except FileExistsError as e:
        print(f"错误：{e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as e:
        print(f"错误：无法写入 {out}（{e.strerror or e}）", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        _json(result, written)
    else:
        print_consolidation(result, written)
    if (failed := cli_publish.consolidation_notices(args, result)) is not None:
        return failed
    return EXIT_FINDINGS if result.error_count else EXIT_OK


def print_consolidation(r: Consolidation, written: Path | None) -> None:
    """The run in words, for the terminal (also used by ``gkreport demo``)."""
    included = r.included
    excluded = [e for e in r.entries if not e.included]
    print(f"共找到 {len(r.entries)} 个文件，纳入汇总 {len(included)} 个，未纳入 {len(excluded)} 个"
          + (f"；汇总表式：{r.form.name}，{r.year or '（年度未知）'} 年度" if r.form else ""))
    flagged = [e for e in included if e.summary.counts.get("error", 0)]
    if flagged:
        print(f"有错误但已纳入（{len(flagged)}）：")
        for e in flagged:
            print(f"    ✗ {e.file}｜{e.name}｜错误 {e.summary.counts['error']} 项")
    if excluded:
        print("未纳入：")
        for e in excluded:
            print(f"    - {e.file}：{e.reason}")
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
        for a, f, k in r.duplicates:
            print(f"    重复报送：{a}（{f}，已纳入 {k}）")
    c = count_by_severity(r.summary_findings)
    print(f"汇总表校验：错误 {c['error']}，警告 {c['warning']}，提示 {c['info']}")
    for f in r.summary_findings:
        if f.severity != "info":
            print(f"    [{SEVERITY_LABEL[f.severity]}] {f.rule}：{f.message}")
    if written is not None:
        print(f"汇总工作簿：{written}")


def _json(r: Consolidation, written: Path | None) -> None:
    doc = {
        "output": str(written) if written else None,
        "form": r.form.version if r.form else None,
        "year": r.year,
        "files": [{"file": e.summary.path, "agency": e.summary.agency, "name": e.name, "year": e.summary.year,
                   "form": e.summary.form, "readable": e.summary.ok, "counts": e.summary.counts,
                   "included": e.included, "reason": e.reason, "level": e.level, "roster_name": e.roster_name,
                   "match": e.match.kind if e.match else None} for e in r.entries],
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
