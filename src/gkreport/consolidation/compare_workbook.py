"""The parent-vs-children comparison as a workbook: 差异, 下级明细, 缺少的下级.

Written with openpyxl cell by cell through :func:`gkreport.output.safety.set_value` (children's
names come from their files and must stay text), saved atomically by :mod:`gkreport.output.outputs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gkreport.core.stamp import raw_text
from gkreport.output.outputs import atomic_write
from gkreport.output.safety import set_value

from .compare import Comparison, Difference, cell_place, differing_frame

_HEAD = (Font(bold=True), PatternFill("solid", fgColor="D9D9D9"), Alignment(wrap_text=True, vertical="center"))
_WRAP = Alignment(wrap_text=True, vertical="top")


def write_comparison(c: Comparison, out: Path, force: bool = False) -> Path:
    """Write the comparison; refuse to replace ``out`` unless ``force``."""
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"输出文件 {out} 已存在；如需覆盖请加 --force")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "差异"
    r = c.report
    set_value(ws.cell(row=1, column=1), f"上级报表 {c.parent.name}（{r.agency or '未填单位'}，{r.year or ''} 年度）"
                                        f"与 {len(c.result.included)} 份下级报表之和比对：{len(c.differences)} 个数据格不相等")
    ws.cell(row=1, column=1).font = Font(bold=True, size=12)
    _table(ws, 2, ["表", "行", "列", "单元格", "上级报表", "下级合计", "差额（上级−下级）", "单元格编号"],
           [[d.table, d.row, d.col, d.address, _parent(d), d.children, d.difference, d.cell_id]
            for d in c.differences], [6, 44, 30, 12, 10, 10, 12, 24])
    if c.differences:
        _detail(wb.create_sheet("下级明细"), c)
    gaps = wb.create_sheet("缺少的下级")
    _table(gaps, 1, ["下级", "文件", "说明"],
           [[n, "", w] for n, w in c.missing] + [[e.summary.agency or "", e.file, e.reason] for e in c.left_out],
           [24, 30, 60])
    return atomic_write(out, lambda tmp: wb.save(tmp))


def _parent(d: Difference) -> float | int | str:
    """The parent's cell: its number when it was written as one, else its text (or （空白）)."""
    if d.parent is not None and raw_text(d.parent) == d.parent_text:
        return d.parent
    return d.parent_text or "（空白）"


def _table(ws: Worksheet, head_row: int, titles: list[str], rows: list[list[Any]], widths: list[float]) -> None:
    for i, t in enumerate(titles, start=1):
        cell = ws.cell(row=head_row, column=i)
        set_value(cell, t)
        cell.font, cell.fill, cell.alignment = _HEAD
    for r, row in enumerate(rows, start=head_row + 1):
        for i, v in enumerate(row, start=1):
            if v is not None and v != "":
                target = ws.cell(row=r, column=i)
                set_value(target, v)
                target.alignment = _WRAP
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = f"A{head_row + 1}"
    ws.auto_filter.ref = f"A{head_row}:{get_column_letter(len(titles))}{head_row + max(1, len(rows))}"


def _detail(ws: Worksheet, c: Comparison) -> None:
    """Each child's number in each differing cell, the children's sum and the parent's number."""
    part = differing_frame(c)
    titles = ["下级", *("·".join(x for x in cell_place(c.form, cid)[:3] if x) + f"（{cell_place(c.form, cid)[3]}）"
                        for cid in part.columns)]
    rows = [[str(name), *(float(v) for v in values)] for name, values in zip(part.index, part.to_numpy(), strict=True)]
    _table(ws, 1, titles, rows, [24, *([16] * len(part.columns))])
    ws.row_dimensions[1].height = 60
    for r in (len(rows), len(rows) + 1):  # the sum and the parent's row stand out
        for col in range(1, len(titles) + 1):
            ws.cell(row=r, column=col).font = Font(bold=True)
