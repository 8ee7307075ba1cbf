"""``gkreport compare PARENT CHILDREN... [--roster FILE] [--json] [-o 差异.xlsx]``: parent = Σ children?

Exit codes (:mod:`gkreport.core.exits`): 0 = every cell of the parent equals the children's sum
and no child is missing; 1 = a cell differs, or a child is missing or left out (the
differences are still reported and written); 2 = the parent or the children cannot be
read, the call is wrong, or the output cannot be written; 3 = an internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gkreport.core.exits import Exit, UsageError
from gkreport.output.outputs import OutputError, check_output, clean_stale_temps, output_lock

from .guard import guarded

if TYPE_CHECKING:
    from gkreport.consolidation.compare import Comparison

DESCRIPTION = """比对上级报表与下级报表之和：逐格检查“上级 = 各下级之和”，列出不相等的格子（官方表、行、列标签，
单元格地址，上级的数、下级合计、差额），以及缺少的下级（给出名单时按名单核对）。

上级报表可以是任何 gkreport check / import 能读取的文件（填报模板、汇总表、已发布的 .docx/.html/.txt）；
下级报表按 gkreport consolidate 的规则相加（同一单位只取最新的一份；下一级的汇总表按其中的单位计入；
同一单位出现两次时停止）。只相加与上级报表同一年度、同一表式的下级报表。

示例：
  gkreport compare 某某市2023年报.docx 各县年报/
  gkreport compare 某某市2023年报.docx 各县年报/ --roster 县名单.xlsx -o 差异.xlsx
  gkreport compare 全县汇总.xlsx 收到的报表/ --json
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="比对上级报表与下级报表之和：列出不相等的格子和缺少的下级",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("parent", type=Path, metavar="PARENT", help="上级（本地区）的报表")
    p.add_argument("children", nargs="+", type=Path, metavar="CHILDREN", help="下级报表所在文件夹（含子文件夹）或文件")
    p.add_argument("--roster", type=Path, metavar="FILE", help="下级名单（.xlsx 或 .csv，列：单位名称）：据此列出缺少的下级")
    p.add_argument("--region", metavar="地区", help="上级的地区名称：下级文件夹中本地区以前的汇总表不计入")
    p.add_argument("-o", "--output", type=Path, metavar="差异.xlsx", help="另把比对结果写入工作簿")
    p.add_argument("--force", action="store_true", help="输出文件已存在时覆盖")
    p.add_argument("--json", action="store_true", help="以 JSON 输出比对结果")
    p.add_argument("--jobs", type=int, metavar="N", help="并行读取的进程数（默认为 CPU 核数）")
    p.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    from gkreport.consolidation.compare import compare

    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs 至少为 1")
    if not args.parent.is_file():
        raise UsageError(f"上级报表 {args.parent} 不存在或不是文件")
    if args.roster is not None and not args.roster.is_file():
        raise UsageError(f"名单文件 {args.roster} 不存在")
    out: Path | None = args.output
    if out is not None:
        check_output(out, force=args.force, inputs=[args.parent, *args.children, *([args.roster] if args.roster else [])],
                     what="比对结果文件")
        clean_stale_temps(out.parent if str(out.parent) else Path("."))
    c = compare(args.parent, args.children, roster=args.roster, region=args.region, jobs=args.jobs,
                progress=sys.stderr.isatty())
    written = None
    if out is not None:
        from gkreport.consolidation.compare_workbook import write_comparison

        with output_lock(out):
            try:
                written = write_comparison(c, out, force=args.force)
            except FileExistsError as e:  # written meanwhile by another run
                raise OutputError(str(e)) from None
    if args.json:
        json.dump(to_json(c, written), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        print_comparison(c, written)
    if any(e.summary.internal for e in c.result.entries):
        return Exit.INTERNAL
    return Exit.FINDINGS if c.differences or c.missing or c.left_out else Exit.OK


def print_comparison(c: Comparison, written: Path | None) -> None:
    from .console import mark

    r = c.report
    print(f"上级报表：{c.parent.name}（{r.agency or '未填单位'}，{r.year or '年度未知'} 年度，{r.form.name}）")
    print(f"下级报表：纳入 {len(c.result.included)} 份" + (f"，未纳入 {len(c.left_out)} 份" if c.left_out else ""))
    for name, why in c.missing:
        print(f"    缺少：{name}" + (f"（{why}）" if why != "未报送" else "（名单中有，未收到其报表）"))
    for e in c.left_out:
        print(f"    未纳入：{e.file}：{e.reason}")
    if c.uncompared:
        print(f"上级报表有 {len(c.uncompared)} 个格子不是有效的数，未比对：")
        for why in c.uncompared.values():
            print(f"    {why}")
    if not c.differences:
        print(f"{mark('ok')} {c.compared} 个数据格全部等于下级之和")
    else:
        print(f"{mark('bad')} {len(c.differences)} 个数据格不等于下级之和（共比对 {c.compared} 个）：")
        for d in c.differences:
            shown = d.parent_text or "空白"
            print(f"    {d.table}｜{d.row}｜{d.col}（{d.address}）：上级 {shown}，下级合计 {d.children}，"
                  f"差 {_signed(d.difference)}")
    if written is not None:
        print(f"比对结果：{written}")


def _signed(x: float | int) -> str:
    return f"+{x}" if x > 0 else str(x)


def to_json(c: Comparison, written: Path | None) -> dict[str, Any]:
    r = c.report
    return {
        "parent": str(c.parent), "agency": r.agency, "year": r.year, "form": r.form.version,
        "output": str(written) if written else None,
        "children": [{"file": e.summary.path, "name": e.name, "included": e.included, "reason": e.reason}
                     for e in c.result.entries],
        "missing": [{"name": n, "note": w} for n, w in c.missing],
        "uncompared": c.uncompared,
        "compared": c.compared,
        "differences": [d.to_dict() for d in c.differences],
    }
