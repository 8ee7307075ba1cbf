"""``gkreport import``: turn a published report into a filled template workbook.

The published report (text extraction, Word, web page or spreadsheet) is read with
:func:`gkreport.readers.published.read_published`; the values go into a fresh official
template so that the same checks, annotation and consolidation run on it as on a
report typed into the template. Nothing is fixed here: values stay as published and
what could not be placed is printed, so a person can decide.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gkreport.commands.guard import guarded
from gkreport.core.exits import HELP as EXIT_HELP
from gkreport.core.exits import Exit, UsageError
from gkreport.core.forms import available_forms, load_form
from gkreport.output.fill import write_filled
from gkreport.output.outputs import check_output, clean_stale_temps, output_lock
from gkreport.readers import ReadError
from gkreport.readers.files import sniff
from gkreport.readers.published import Imported, read_published


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``import FILE -o OUT.xlsx [--form auto|…] [--year Y] [--force]``."""
    p = sub.add_parser(
        "import",
        help="读取已发布的年度报告（.txt/.tsv/.docx/.html/.xlsx），生成已填好的模板",
        description="读取已发布的政府信息公开工作年度报告，把表格中的数值填入官方模板。"
                    "数值按原样保留（空白仍为空白），无法对应的内容会列出。"
                    "退出码 1 表示已生成，但有数值未能读取（逐项列出）。",
        epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, metavar="FILE", help="已发布的报告文件")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.xlsx",
                   help="输出的模板文件（.xlsx）")
    p.add_argument("--form", choices=["auto", *available_forms()], default="auto",
                   help="表式版本（默认 auto：根据表格标签判断）")
    p.add_argument("--year", type=int, help="报告年度（默认从报告标题识别）")
    p.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    p.set_defaults(func=guarded(cmd_import))


def read_for_import(path: Path, form: str = "auto", year: int | None = None) -> Imported:
    """The published report at ``path``, or a ReadError saying in Chinese why not.

    The file is sniffed first, like every input (a damaged zip is reported as damaged,
    the workbook limits apply), then imported."""
    sniff(path).close()
    return read_published(path, form=form, year=year)  # its ReportReadError is a ReadError


def cmd_import(args: argparse.Namespace) -> int:
    """Read, fill, summarise. Exit 0: complete; 1: written, but some published values could
    not be placed (listed); 2: input or output unusable (a Chinese message, no traceback)."""
    if not args.file.is_file():
        raise UsageError(f"{args.file}：" + ("文件不存在" if not args.file.exists() else "不是普通文件，无法读取"))
    out: Path = check_output(args.output, force=args.force, inputs=[args.file])
    clean_stale_temps(out.parent if str(out.parent) else Path("."))
    with output_lock(out):
        try:
            rep = read_for_import(args.file, form=args.form, year=args.year)
        except ReadError as e:
            raise UsageError(f"{args.file}：{e}") from None
        form = load_form(rep.form)
        header = {"hdr.agency": rep.agency, "hdr.year": rep.year, "hdr.date": rep.date}
        write_filled(form, out, rep.values, header)
    filled = sum(v is not None for v in rep.values.values())
    print(f"已读取：{args.file}")
    print(f"表式：{form.name}（{form.defined_by}）")
    print(f"年度：{rep.year if rep.year is not None else '未识别'}")
    print(f"单位：{rep.agency or '未识别'}")
    if rep.date:
        print(f"日期：{rep.date}")
    blank = len(rep.values) - filled - len(rep.unread)
    print(f"已填入 {filled} 个单元格（共 {len(rep.values)} 个；报告中为空白 {blank} 个"
          + (f"；报告中有数值但未能读取 {len(rep.unread)} 个" if rep.unread else "") + "）")
    label = {"error": "未能读取", "warning": "说明", "info": "推定"}
    for sev in ("error", "warning", "info"):
        for issue in rep.issues:
            if issue.severity == sev:
                print(f"{label[sev]}：{issue.message}")
    if not rep.complete:
        print("导入不完整：上面“未能读取”的数值没有填入，请对照原报告补填；在此之前该报告不能视为通过校验")
    print(f"已生成：{out}")
    return Exit.OK if rep.complete else Exit.FINDINGS
