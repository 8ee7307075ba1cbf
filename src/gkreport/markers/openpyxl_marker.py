"""Marks on an openpyxl workbook: used for ``check --mark`` copies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.workbook import Workbook

from gkreport.output.safety import set_value, xml_safe
from gkreport.output.template import fit_wrapped_rows, print_as_list

from .marking import RESULTS_SHEET, STATE_SHEET, decode_snapshot, encode_snapshot

THICK = Side(style="medium", color="C00000")
# Widths in Excel's units (a Chinese character takes two). H, the fingerprint, is hidden.
WIDTHS = {"A": 6, "B": 9, "C": 17, "D": 8, "E": 30, "F": 72, "G": 8, "H": 18}
WRAPPED = (5, 6)  # 规则 and 说明 wrap; the row height follows the longer of the two


def _color(c: object) -> str | None:
    rgb = getattr(c, "rgb", None)
    return rgb if isinstance(rgb, str) else None


def _side(side: Side | None) -> list[str | None]:
    """A border side as [style, colour]; a side openpyxl left as None (merged ranges) is none."""
    return [side.style, _color(side.color)] if side is not None else [None, None]


class OpenpyxlMarker:
    """MarkTarget over an in-memory openpyxl workbook."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb

    @classmethod
    def open(cls, path: Path) -> OpenpyxlMarker:
        keep_vba = Path(path).suffix.lower() == ".xlsm"
        return cls(openpyxl.load_workbook(path, keep_vba=keep_vba, keep_links=True))

    def has_sheet(self, name: str) -> bool:
        return name in self.wb.sheetnames

    def _cell(self, sheet: str, ref: str) -> Cell | MergedCell:
        """The cell at ``ref``; inside merged cells, the merged range's top-left cell, which
        holds the value, the look and the note (the others are read-only placeholders)."""
        ws = self.wb[sheet]
        c: Cell | MergedCell = ws[ref]  # ref is one cell, never a range
        if isinstance(c, MergedCell):
            for rng in ws.merged_cells.ranges:
                if c.coordinate in rng:
                    return ws.cell(row=rng.min_row, column=rng.min_col)
        return c

    def snapshot(self, sheet: str, ref: str) -> str:
        c = self._cell(sheet, ref)
        fill = c.fill
        border = c.border
        return encode_snapshot({
            "fill": [fill.fill_type, _color(fill.fgColor), _color(fill.bgColor)] if fill is not None else None,
            "border": {side: _side(getattr(border, side, None)) for side in ("left", "right", "top", "bottom")},
            "comment": [c.comment.text, c.comment.author] if c.comment is not None else None,
        })

    def restore(self, sheet: str, ref: str, snap: str) -> None:
        """Put back the look saved by :meth:`snapshot`. The state sheet lives in a file the
        clerk may have edited: a part that no longer makes sense (a colour that is not one,
        a missing value) is left as the clerk has it instead of stopping the run."""
        data = decode_snapshot(snap)
        c = self._cell(sheet, ref)
        fill = data.get("fill")
        try:
            if isinstance(fill, list) and len(fill) == 3:
                c.fill = PatternFill(fill_type=fill[0], fgColor=fill[1] or "00000000", bgColor=fill[2] or "00000000")
            else:
                c.fill = PatternFill(fill_type=None)
        except (TypeError, ValueError):
            c.fill = PatternFill(fill_type=None)
        border = data.get("border")
        if isinstance(border, dict):
            try:
                sides = {k: Side(style=v[0], color=v[1]) if v and v[0] else Side()
                         for k, v in border.items() if k in ("left", "right", "top", "bottom")}
                c.border = Border(left=sides.get("left"), right=sides.get("right"), top=sides.get("top"),
                                  bottom=sides.get("bottom"))
            except (TypeError, ValueError, IndexError, KeyError):
                c.border = Border()
        comment = data.get("comment")
        if isinstance(comment, list) and comment and isinstance(comment[0], str) and comment[0]:
            author = comment[1] if len(comment) > 1 and isinstance(comment[1], str) else ""
            c.comment = Comment(xml_safe(comment[0]), author)
        else:
            c.comment = None

    def mark(self, sheet: str, ref: str, fill: str, thick: bool, note: str) -> None:
        c = self._cell(sheet, ref)
        c.fill = PatternFill("solid", fgColor="FF" + fill)
        if thick:
            c.border = Border(left=THICK, right=THICK, top=THICK, bottom=THICK)
        text = note if c.comment is None else f"{c.comment.text}\n\n{note}"
        comment = Comment(xml_safe(text), "gkreport")
        comment.width = 420
        comment.height = 160
        c.comment = comment

    def read_state(self) -> list[tuple[str, str, str]]:
        ws = self.wb[STATE_SHEET]
        out = []
        for row in ws.iter_rows(min_row=2, max_col=3, values_only=True):
            row = (*row, None, None, None)[:3]
            if row[0] and row[1]:
                out.append((str(row[0]), str(row[1]), str(row[2] or "")))
        return out

    def write_state(self, rows: Sequence[tuple[str, str, str]]) -> None:
        ws = self.wb.create_sheet(STATE_SHEET)
        ws.sheet_state = "veryHidden"
        ws.append(["sheet", "cell", "snapshot"])
        for sheet, ref, snap in rows:
            r = ws.max_row + 1
            for col, v in enumerate((sheet, ref, snap), 1):
                set_value(ws.cell(row=r, column=col), v)

    def delete_sheet(self, name: str) -> None:
        del self.wb[name]

    def write_results(self, rows: Sequence[Sequence[object]], links: Sequence[tuple[str, str] | None]) -> None:
        ws = self.wb.create_sheet(RESULTS_SHEET)
        for r, (row, link) in enumerate(zip(rows, links, strict=True), 1):
            for col, v in enumerate(row, 1):
                cell = ws.cell(row=r, column=col)
                set_value(cell, v)
                cell.alignment = Alignment(vertical="top", wrap_text=col in WRAPPED,
                                           horizontal="center" if col == 1 else None)
                if r == 1:
                    cell.font = Font(bold=True)
                    cell.fill = PatternFill("solid", fgColor="FFD9E1F2")
            if link is not None:
                sheet, ref = link
                target = ws.cell(row=r, column=4)
                target.hyperlink = f"#'{sheet}'!{ref}"
                target.font = Font(color="FF0563C1", underline="single")
        for letter, width in WIDTHS.items():
            ws.column_dimensions[letter].width = width
        ws.column_dimensions["H"].hidden = True
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:H{max(1, len(rows))}"
        fit_wrapped_rows(ws, "F")
        fit_wrapped_rows(ws, "E", keep_taller=True)
        print_as_list(ws)  # clerks print the list to work through it
        ws.print_area = f"A1:G{max(1, len(rows))}"
        # Show the results first when the copy is opened.
        self.wb.active = self.wb.sheetnames.index(RESULTS_SHEET)
        for other in self.wb.worksheets:
            other.sheet_view.tabSelected = other.title == RESULTS_SHEET
