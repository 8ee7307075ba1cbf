"""``gkreport demo``: the main jobs on the bundled samples, for a first try."""

from __future__ import annotations

import argparse
from pathlib import Path

from gkreport.commands.cli_check import print_result
from gkreport.commands.cli_consolidate import print_consolidation
from gkreport.commands.guard import guarded
from gkreport.consolidation.consolidate import consolidate, write_summary
from gkreport.core.exits import Exit
from gkreport.core.forms import available_forms, load_form
from gkreport.core.resources import data_dir
from gkreport.markers.checking import check_file
from gkreport.output.template import template_filename, write_template

# samples/示例县-2023/: eight agencies (one with an error, two with their name typed unlike the roster's)
# and one on the old form
COUNTY = "示例县-2023"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="用自带的示例演示：生成模板、校验并标注示例报表、汇总示例县")
    p.add_argument("-o", "--output", type=Path, default=Path("gkreport-demo"), help="输出文件夹（默认 gkreport-demo）")
    p.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    for version in reversed(available_forms()):  # newest first
        path = write_template(load_form(version), out / template_filename(version))
        print(f"模板：{path}")
    samples = sorted(data_dir("samples").glob("*.xlsx"))
    print(f"\n校验 {len(samples)} 个示例报表（标注副本写入 {out}）：")
    for sample in samples:
        print_result(check_file(sample, mark_dir=out))
    county = data_dir("samples") / COUNTY
    summary = out / f"{COUNTY}-汇总.xlsx"
    print(f"\n汇总示例县的 {sum(1 for _ in county.glob('*.xlsx'))} 份报表（按名单核对报送情况）：")
    result = consolidate([county], roster=county.with_name(f"{COUNTY}-名单.csv"), jobs=1)
    print_consolidation(result, write_summary(result, summary, force=True))
    print(f"\n完成。用 Excel 或 WPS 打开 {out} 中的 *.checked.xlsx，查看红色标注和“校验结果”工作表；"
          f"打开 {summary.name}，查看全县合计、报送情况和问题清单。")
    return Exit.OK
