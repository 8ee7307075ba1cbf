"""A published report saved as a web page: its tables (with spans) and the prose around them.

Split from :mod:`gkreport.readers.pub_sources` (which re-exports :func:`read_html`);
the standard library's tolerant HTML parser, bounded by the same limits as every reader.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from gkreport.readers.pub_cells import MAX_CELLS, MAX_SPAN, MAX_TEXT_CHARS, Budget, ReportReadError, Row, Source, decode
from gkreport.readers.pub_grid import Spec, grid_rows, span_value


class _HtmlTables(HTMLParser):
    """Collect tables (cells with rowspan/colspan) and the text outside them; fetches nothing."""

    _BLOCK = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article",
                        "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[Spec]]] = []
        self.lines: list[str] = []
        self.capped = 0
        self.n_cells = 0
        self._stack: list[dict] = []
        self._buf: list[str] = []
        self._skip = 0

    def _span(self, attrs: list[tuple[str, str | None]], name: str) -> int:
        for k, v in attrs:
            if k == name and v:
                n, capped = span_value(v)
                self.capped += capped
                return n
        return 1

    def _flush(self) -> None:
        line = "".join(self._buf).strip()
        if line:
            self.lines.append(line)
        self._buf = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._skip += 1
        elif tag == "table":
            self._flush()
            self._stack.append({"rows": [], "cell": None})
        elif not self._stack:
            if tag in self._BLOCK:
                self._flush()
        elif tag == "tr":
            self._close_cell()
            self._stack[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._close_cell()
            self.n_cells += 1
            if self.n_cells > MAX_CELLS:
                raise ReportReadError(f"网页中的表格单元格超过上限 {MAX_CELLS}，不像是年度报告")
            t = self._stack[-1]
            if not t["rows"]:
                t["rows"].append([])
            t["cell"] = ([], self._span(attrs, "rowspan"), self._span(attrs, "colspan"))

    def _close_cell(self) -> None:
        if not self._stack:
            return
        t = self._stack[-1]
        if t["cell"] is not None:
            parts, rs, cs = t["cell"]
            t["rows"][-1].append((re.sub(r"\s+", " ", "".join(parts)).strip(), rs, cs))
            t["cell"] = None

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._stack:
            self._close_cell()
            t = self._stack.pop()
            self.tables.append(list(t["rows"]))
        elif self._stack and tag in ("td", "th"):
            self._close_cell()
        elif not self._stack and tag in self._BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._stack:
            cell = self._stack[-1]["cell"]
            if cell is not None:
                # Line breaks inside a cell are layout: join the pieces with no separator.
                cell[0].append(data.replace("\n", "").replace("\r", ""))
        else:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        while self._stack:
            self.handle_endtag("table")
        self._flush()


def read_html(path: Path, data: bytes) -> Source:
    head = data[:4096].decode("ascii", "ignore").lower()
    m = re.search(r"charset\s*=\s*[\"']?([a-z0-9_\-]+)", head)
    text: str | None = None
    if m and m.group(1) in ("gbk", "gb2312", "gb18030"):
        text = data.decode("gb18030", "replace")
        if len(text) > MAX_TEXT_CHARS:
            raise ReportReadError(f"网页过长（{len(text)} 个字符），不像是年度报告：{path.name}")
    if text is None:
        text = decode(data, path)
    parser = _HtmlTables()
    try:
        parser.feed(text)
        parser.close()
    except ReportReadError as e:
        raise ReportReadError(f"{e}：{path.name}") from None
    budget = Budget(path.name)
    rows: list[Row] = []
    for i, table in enumerate(parser.tables, 1):
        rows += grid_rows(table, i, f"网页第{i}个表格", budget)
    notes = [f"网页表格中有 {parser.capped} 处合并单元格跨度超过 {MAX_SPAN}，按 {MAX_SPAN} 读取"] if parser.capped else []
    return Source(rows, "\n".join(parser.lines), notes=notes)
