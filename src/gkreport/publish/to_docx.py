"""The publication as a Word document (python-docx): A4, 仿宋/黑体/宋体, bordered official tables.

The tables are drawn box by box from :mod:`.grid` with real merged cells (``cell.merge``
writes ``w:gridSpan``/``w:vMerge``), so Word, WPS and LibreOffice show the official merges
and ``gkreport import`` reads the same cells back. Chinese fonts are set through
``w:eastAsia`` (setting ``font.name`` alone only changes the Latin font).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Cm, Pt, Twips
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from gkreport.output.safety import xml_safe

from .content import Para, Publication, TablePart
from .grid import Box

BODY_FONT, HEADING_FONT, TITLE_FONT, TABLE_FONT = "仿宋", "黑体", "宋体", "宋体"
LATIN_FONT = "Times New Roman"
BODY_SIZE, TITLE_SIZE = Pt(16), Pt(22)  # 三号, 二号: the sizes of official documents
NARROW_TABLE_SIZE, WIDE_TABLE_SIZE = Pt(10.5), Pt(9)  # a table of up to 4 columns (表一) reads larger
# Official document margins (GB/T 9704): top 37 mm, bottom 35 mm, left 28 mm, right 26 mm.
MARGINS = (Cm(3.7), Cm(3.5), Cm(2.8), Cm(2.6))


# ------------------------------------------------------------------------------ helpers shared with notices


def new_document(*, landscape: bool = False, margins: tuple = MARGINS) -> docx.document.Document:
    """An empty A4 document whose Normal style is 仿宋 (eastAsia) on Times New Roman."""
    doc = docx.Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = margins
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = BODY_SIZE
    set_east_asia(normal.element.get_or_add_rPr(), BODY_FONT)
    doc.core_properties.author = "gkreport"
    return doc


def set_east_asia(rpr: CT_RPr, font: str) -> None:
    """Set the Chinese font of a run or style's ``w:rPr``."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), font)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)


def add_text(paragraph: Paragraph, text: str, *, font: str = BODY_FONT, size: Pt | None = None,
             bold: bool = False, todo: bool = False) -> None:
    """Append a run in ``font``; ``todo`` runs are highlighted yellow for the clerk."""
    run = paragraph.add_run(xml_safe(text))
    set_east_asia(run._r.get_or_add_rPr(), font)
    run.font.name = LATIN_FONT
    if size is not None:
        run.font.size = size
    run.bold = bold
    if todo:
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def add_paragraph(doc: docx.document.Document, text: str, *, font: str = BODY_FONT, size: Pt | None = None, bold: bool = False,
                  align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = True, todo: bool = False) -> Paragraph:
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    if indent:
        fmt.first_line_indent = Pt(32)  # two characters of 三号
    fmt.line_spacing = Pt(28)
    fmt.space_after = Pt(0)
    if align is not None:
        p.alignment = align
    add_text(p, text, font=font, size=size, bold=bold, todo=todo)
    return p


def set_borders(table: Table, size: int = 4) -> None:
    """Single black borders on every edge and inner line (independent of the table style)."""
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    tbl_pr.append(borders)


def set_cell_margins(table: Table, left_right_twips: int = 40) -> None:
    """Narrow left/right cell margins, so 15 columns fit an A4 page."""
    mar = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(left_right_twips))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    table._tbl.tblPr.append(mar)


def set_widths(table: Table, widths: Iterable) -> None:
    """Fixed column widths (tblGrid for LibreOffice, tcW on every cell for Word); call it
    before merging (a merge adds up the widths of the cells it joins)."""
    widths = list(widths)
    table.autofit = False
    for col, w in zip(table.columns, widths, strict=True):
        col.width = w
    for i, cell in enumerate(table._cells):
        cell.width = widths[i % len(widths)]


def grid_widths(total_twips: int, shares: Iterable[float]) -> list[Twips]:
    """Column widths in whole twips (Word's unit), so that a merged cell's width is exactly
    the sum of its grid columns, as Word expects."""
    return [Twips(max(1, int(total_twips * share))) for share in shares]


def repeat_header(table: Table, rows: int) -> None:
    """Repeat the first ``rows`` rows on every page; keep each row on one page."""
    for i, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        no_split = OxmlElement("w:cantSplit")
        tr_pr.append(no_split)
        if i < rows:
            head = OxmlElement("w:tblHeader")
            tr_pr.append(head)


def keep_together(table: Table) -> None:
    """Keep a table on one page where it fits: every row but the last "keeps with next"
    (how Word keeps a table together; LibreOffice reads it the same way)."""
    for row in table.rows[:-1]:
        for tc in row._tr.tc_lst:
            for p in tc.p_lst:
                Paragraph(p, table).paragraph_format.keep_with_next = True


def write_cell(cell: _Cell, text: str, *, size: Pt, bold: bool = False,
               align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER, font: str = TABLE_FONT) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.first_line_indent = Pt(0)
    p.paragraph_format.line_spacing = 1.0
    p.paragraph_format.space_after = Pt(0)
    if text:
        add_text(p, text, font=font, size=size, bold=bold)


# ------------------------------------------------------------------------------ the publication


def _table(doc: docx.document.Document, part: TablePart, text_width: int) -> None:
    grid = part.grid
    size = NARROW_TABLE_SIZE if grid.table.n_cols <= 4 else WIDE_TABLE_SIZE
    table = doc.add_table(rows=grid.n_rows, cols=grid.n_cols)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_borders(table)
    set_cell_margins(table)
    weights = list(grid.table.col_widths) or [1.0] * grid.n_cols
    total = sum(weights)
    set_widths(table, grid_widths(int(text_width) // 635, [w / total for w in weights]))
    # A header shared by the whole table is repeated on each page; table 1 is a stack of
    # blocks, each with its own header, so repeating its first block's header would mislead.
    stacked = any(b.style == "block" for b in grid.boxes)
    repeat_header(table, 0 if stacked else grid.header_rows)
    # The cells, taken once before any merge: Table.cell() rebuilds the whole table's cell
    # list on every call. Boxes never overlap, so merging one box leaves the <w:tc> of every
    # other box in place and these handles stay valid.
    cells = table._cells
    n = grid.n_cols
    for box in grid.boxes:
        cell = cells[(box.r1 - 1) * n + box.c1 - 1]
        if box.merged:
            cell = cell.merge(cells[(box.r2 - 1) * n + box.c2 - 1])
        _fill_box(cell, box, part, size)
    if stacked or grid.n_rows <= 10:  # table 2 may break across pages: its header repeats
        keep_together(table)


def _fill_box(cell: _Cell, box: Box, part: TablePart, size: Pt) -> None:
    if box.cell_id is not None:
        write_cell(cell, part.texts.get(box.cell_id, ""), size=size)
    elif box.style == "row":
        write_cell(cell, box.text, size=size, align=WD_ALIGN_PARAGRAPH.LEFT)
    else:
        write_cell(cell, box.text, size=size, bold=box.style in ("head", "block"))


def _para(doc: docx.document.Document, para: Para) -> None:
    if para.kind == "sign":
        add_paragraph(doc, para.text, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False, todo=para.todo)
    else:
        add_paragraph(doc, para.text, todo=para.todo)


def write_docx(pub: Publication, path: Path) -> None:
    """Save ``pub`` as a .docx at ``path`` (the caller makes the write atomic)."""
    doc = new_document()
    doc.core_properties.title = pub.title
    section = doc.sections[0]
    width, left, right = section.page_width, section.left_margin, section.right_margin
    assert width is not None and left is not None and right is not None  # new_document() sets them
    text_width = width - left - right
    title = add_paragraph(doc, pub.title, font=TITLE_FONT, size=TITLE_SIZE, bold=True,
                          align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    title.paragraph_format.space_after = Pt(16)
    for para in pub.intro:
        _para(doc, para)
    for sec in pub.sections:
        add_paragraph(doc, sec.title, font=HEADING_FONT).paragraph_format.keep_with_next = True
        for part in sec.parts:
            if isinstance(part, TablePart):
                _table(doc, part, text_width)
                doc.add_paragraph()  # the space after a table
            else:
                _para(doc, part)
    blank = doc.add_paragraph()
    blank.add_run().add_break(WD_BREAK.LINE)
    for para in pub.signature:
        _para(doc, para)
    doc.save(str(path))
