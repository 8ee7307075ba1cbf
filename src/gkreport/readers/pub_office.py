"""Word (.docx) and Excel (.xlsx) published reports -> rows of cells, within hard limits.

Both are zip packages from the internet: every member's CRC is verified (a flipped bit
is damage, not a changed digit), zip bombs and oversized XML parts are refused, Word's
XML is streamed (``iterparse``, body-level elements freed as they are done) and Excel
sheets are read only within their first rows and columns. Any failure is a
:class:`ReportReadError` naming the file.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from gkreport.readers.files import ZIP_ERRORS
from gkreport.readers.pub_sources import (
    MAX_SPAN,
    MAX_UNPACKED,
    MAX_XLSX_COLS,
    MAX_XLSX_ROWS,
    MAX_XML_PART,
    MAX_ZIP_MEMBERS,
    Budget,
    Cell,
    ReportReadError,
    Row,
    Source,
    Spec,
    grid_rows,
    span_value,
)

# ------------------------------------------------------------------------------ zip formats


def open_zip(path: Path, data: bytes, ext: str) -> zipfile.ZipFile:
    """A .docx/.xlsx is a zip: refuse anything else, damaged members and zip bombs."""
    bad = f"文件已损坏或不是 {ext} 格式（可能下载/复制中断，或扩展名不对）：{path.name}"
    if not data.startswith(b"PK"):
        raise ReportReadError(bad)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ReportReadError(f"压缩包内文件过多（{len(infos)} 个），拒绝读取：{path.name}")
        unpacked = sum(i.file_size for i in infos)
        if unpacked > MAX_UNPACKED:
            raise ReportReadError(f"文件解压后过大（{unpacked / 1024 / 1024:.0f} MB），拒绝读取：{path.name}")
        for info in infos:
            if info.filename.endswith(".xml") and info.file_size > MAX_XML_PART:
                raise ReportReadError(
                    f"文件中的 {info.filename} 解压后过大（{info.file_size / 1024 / 1024:.0f} MB），拒绝读取：{path.name}")
        if zf.testzip() is not None:  # CRC of every member: a flipped bit is damage, not a changed digit
            raise ReportReadError(bad)
    except ReportReadError:
        raise
    except ZIP_ERRORS:
        raise ReportReadError(bad) from None
    return zf


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read_docx(path: Path, data: bytes) -> Source:
    """Tables (with gridSpan / vMerge) and body paragraphs of word/document.xml, streamed."""
    from lxml import etree

    zf = open_zip(path, data, ".docx")
    if "word/document.xml" not in zf.namelist():
        raise ReportReadError(f"不是有效的 Word（.docx）文件（缺少 word/document.xml）：{path.name}")
    budget = Budget(path.name)
    tables: list[list[list[Spec]]] = []
    lines: list[str] = []
    stack: list[dict] = []  # open tables (nested ones too)
    para: list[str] = []
    try:
        with zf.open("word/document.xml") as fh:
            ctx = etree.iterparse(fh, events=("start", "end"), resolve_entities=False, no_network=True,
                                  huge_tree=False, load_dtd=False)
            for event, el in ctx:
                tag = el.tag
                if event == "start":
                    if tag == _W + "tbl":
                        stack.append({"rows": [], "cell": None})
                    elif tag == _W + "tr" and stack:
                        stack[-1]["rows"].append({"before": 0, "cells": []})
                    elif tag == _W + "tc" and stack and stack[-1]["rows"]:
                        budget.take(1, "Word 表格")
                        stack[-1]["cell"] = {"text": [], "span": 1, "vmerge": None}
                    continue
                if tag == _W + "t" or (tag == _W + "tab" and el.getparent().tag == _W + "r"):
                    piece = (el.text or "") if tag == _W + "t" else "\t"
                    cell = stack[-1]["cell"] if stack else None
                    (cell["text"] if cell is not None else para).append(piece)
                elif tag == _W + "gridSpan" and stack and stack[-1]["cell"] is not None:
                    stack[-1]["cell"]["span"] = span_value(el.get(_W + "val"))[0]
                elif tag == _W + "vMerge" and stack and stack[-1]["cell"] is not None:
                    stack[-1]["cell"]["vmerge"] = el.get(_W + "val") or "continue"
                elif tag == _W + "gridBefore" and stack and stack[-1]["rows"]:
                    stack[-1]["rows"][-1]["before"] = span_value(el.get(_W + "val"))[0]
                elif tag == _W + "tc" and stack:
                    cell = stack[-1]["cell"]
                    if cell is not None and stack[-1]["rows"]:
                        stack[-1]["rows"][-1]["cells"].append(cell)
                    stack[-1]["cell"] = None
                elif tag == _W + "tbl" and stack:
                    tables.append(_docx_spans(stack.pop()["rows"]))
                elif tag == _W + "p" and not stack:
                    line = "".join(para).strip()
                    if line:
                        lines.append(line)
                    para = []
                if tag in (_W + "p", _W + "tbl") and not stack:
                    el.clear()  # body-level content is done with: keep memory flat
                    parent = el.getparent()
                    while parent is not None and el.getprevious() is not None:
                        del parent[0]
    except ReportReadError:
        raise
    except Exception as e:  # per-file boundary: lxml and zipfile raise many types on a damaged member
        raise ReportReadError(f"Word（.docx）文件已损坏，无法读取（{type(e).__name__}）：{path.name}") from None
    finally:
        zf.close()
    rows: list[Row] = []
    for i, table in enumerate(tables, 1):
        rows += grid_rows(table, i, f"Word第{i}个表格", budget)
    return Source(rows, "\n".join(lines))


def _docx_spans(rows: list[dict]) -> list[list[Spec]]:
    """Word's vertical merges (a ``continue`` cell under its origin) as HTML-style rowspans."""
    out: list[list[list]] = []  # made tuples only at the end: a vertical merge grows after its row
    origin: dict[int, list] = {}  # grid column -> [text, rowspan, colspan] of an open vertical merge
    for row in rows:
        specs: list[list] = []
        col = 0
        if row["before"]:
            specs.append(["", 1, row["before"]])
            col += row["before"]
        for cell in row["cells"]:
            span = cell["span"]
            if cell["vmerge"] == "continue" and col in origin and origin[col][1] < MAX_SPAN:
                origin[col][1] += 1
            else:
                entry = ["".join(cell["text"]).replace("\n", ""), 1, span]
                specs.append(entry)
                for c in range(col, col + span):
                    origin.pop(c, None)
                if cell["vmerge"] == "restart":
                    origin[col] = entry
            col += span
        out.append(specs)
    return [[(t, rs, cs) for t, rs, cs in specs] for specs in out]


def xlsx_text(v: object) -> str:
    """Excel cell value -> text that parse_value turns back into the same number."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, int) and abs(v) >= 10 ** 18:
        return "（数值过大）"
    return str(v)


def read_xlsx(path: Path, data: bytes) -> Source:
    from gkreport.commands.runtime import import_openpyxl

    import_openpyxl()  # without numpy (``check`` imports openpyxl only where it is needed)
    from openpyxl import load_workbook

    open_zip(path, data, ".xlsx").close()
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # per-file boundary: openpyxl raises many types on malformed parts
        raise ReportReadError(f"Excel（.xlsx）文件已损坏，无法读取（{type(e).__name__}）：{path.name}") from None
    rows: list[Row] = []
    lines: list[str] = []
    notes: list[str] = []
    budget = Budget(path.name)
    try:
        for i, ws in enumerate(wb.worksheets, 1):
            if not hasattr(ws, "iter_rows"):
                continue
            ws.reset_dimensions()
            beyond = False
            for r, values in enumerate(ws.iter_rows(values_only=True, max_col=MAX_XLSX_COLS + 1,
                                                    max_row=MAX_XLSX_ROWS + 1), 1):
                values = tuple(values)
                if r > MAX_XLSX_ROWS or (len(values) > MAX_XLSX_COLS and values[MAX_XLSX_COLS] is not None):
                    beyond = beyond or any(v is not None for v in values)
                    if r > MAX_XLSX_ROWS:
                        break
                values = values[:MAX_XLSX_COLS]
                last = max((c for c, v in enumerate(values) if v is not None and xlsx_text(v).strip()), default=-1)
                if last < 0:
                    continue
                budget.take(last + 1, f"工作表“{ws.title}”第{r}行")
                cells = tuple(Cell(xlsx_text(v), c) for c, v in enumerate(values[: last + 1]))
                lines.append("\t".join(c.text for c in cells).strip("\t"))
                rows.append(Row(cells, "grid", f"工作表“{ws.title}”第{r}行", i))
            if beyond:
                notes.append(f"工作表“{ws.title}”超出前 {MAX_XLSX_ROWS} 行、{MAX_XLSX_COLS} 列的内容未读取")
    except ReportReadError:
        raise
    except Exception as e:  # per-file boundary: openpyxl reads parts lazily, so damage surfaces here too
        raise ReportReadError(f"Excel（.xlsx）文件已损坏，无法读取（{type(e).__name__}）：{path.name}") from None
    finally:
        wb.close()
    return Source(rows, "\n".join(lines), notes=notes)
