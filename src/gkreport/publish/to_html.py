"""The publication as one HTML page for the government portal.

Semantic markup only: ``<h1>``/``<h2>``/``<p>``, and per official table a ``<table>`` with
``<caption>``, ``<thead>`` (the header rows), ``<tbody>``, ``<th>`` for printed labels and
``<td>`` for data, merges as ``rowspan``/``colspan`` from :mod:`.grid`. Presentation is one
small ``<style>`` block (class names, no inline styles), so a portal's own stylesheet can
replace it. Every text is escaped; the page is UTF-8.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from .content import Para, Publication, TablePart
from .grid import Box, TableGrid

STYLE = """\
body{font-family:"仿宋","FangSong","STFangsong",serif;font-size:16px;line-height:1.8;max-width:60em;margin:2em auto;padding:0 1em;color:#000}
h1{font-family:"宋体","SimSun",serif;font-size:24px;text-align:center}
h2{font-family:"黑体","SimHei",sans-serif;font-size:17px;margin:1.2em 0 .4em}
p{text-indent:2em;margin:.3em 0}
p.sign{text-align:right;text-indent:0}
.todo{background:#fff3a8}
table.gk{border-collapse:collapse;margin:.6em auto 1.2em;font-family:"宋体","SimSun",serif;font-size:13px;line-height:1.4;width:100%}
table.gk caption{font-weight:bold;margin-bottom:.3em}
table.gk th,table.gk td{border:1px solid #000;padding:3px 4px;text-align:center;vertical-align:middle}
table.gk th{font-weight:normal}
table.gk th.head,table.gk th.block{font-weight:bold}
table.gk th.row{text-align:left}
"""


def _col_styles(grids: list[TableGrid]) -> str:
    """Column widths from the form, as CSS rules on each table's ``<col>`` classes."""
    rules = []
    for g in grids:
        weights = list(g.table.col_widths)
        if len(set(weights)) < 2:
            continue  # equal columns are the browser's default
        total = sum(weights)
        by_width: dict[str, list[str]] = {}
        for i, w in enumerate(weights, 1):
            by_width.setdefault(f"{100 * w / total:.1f}%", []).append(f"table.{g.table.id} col.c{i}")
        rules += [",".join(sel) + f"{{width:{w}}}" for w, sel in by_width.items()]
    return "\n".join(rules)


def _cell(box: Box, part: TablePart) -> str:
    span = (f' rowspan="{box.rowspan}"' if box.rowspan > 1 else "") + (
        f' colspan="{box.colspan}"' if box.colspan > 1 else "")
    if box.cell_id is not None:
        return f"<td{span}>{escape(part.texts.get(box.cell_id, ''))}</td>"
    if box.style == "row":
        scope = ' scope="rowgroup"' if box.rowspan > 1 else ' scope="row"'
    else:
        scope = ' scope="colgroup"' if box.colspan > 1 else ' scope="col"'

    return f'<th{span}{scope} class="{box.style}">{escape(box.text)}</th>'


def _table(part: TablePart, caption: str) -> list[str]:
    g = part.grid
    out = [f'<table class="gk {g.table.id}">', f"<caption>{escape(caption)}</caption>", "<colgroup>"]
    out += [f'<col class="c{i}">' for i in range(1, g.n_cols + 1)]
    out.append("</colgroup>")
    for r in range(1, g.n_rows + 1):
        if r == 1:
            out.append("<thead>")
        if r == g.header_rows + 1:
            out.append("</thead>\n<tbody>")
        out.append("<tr>" + "".join(_cell(b, part) for b in g.row(r)) + "</tr>")
    out.append("</tbody>" if g.n_rows > g.header_rows else "</thead>")
    out.append("</table>")
    return out


def _para(para: Para) -> str:
    classes = [c for c, on in (("sign", para.kind == "sign"), ("todo", para.todo)) if on]
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f"<p{cls}>{escape(para.text)}</p>"


def render_html(pub: Publication) -> str:
    grids = [t.grid for t in pub.tables]
    body = [f"<h1>{escape(pub.title)}</h1>", *(_para(p) for p in pub.intro)]
    for sec in pub.sections:
        body.append(f"<h2>{escape(sec.title)}</h2>")
        for part in sec.parts:
            if isinstance(part, TablePart):
                caption = sec.title.split("、", 1)[-1]
                body.extend(_table(part, caption))
            else:
                body.append(_para(part))
    body.extend(_para(p) for p in pub.signature)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(pub.title)}</title>",
        "<style>",
        STYLE + _col_styles(grids),
        "</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def write_html(pub: Publication, path: Path) -> None:
    Path(path).write_text(render_html(pub), encoding="utf-8")
