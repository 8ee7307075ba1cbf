"""Reading published reports (``gkreport.readers.published``) and ``gkreport import``.

The four real reports in ``fixtures/real`` are the ground truth: every value they
publish must come out unchanged (blank stays ``None``, ``0`` stays ``0``). The other
formats are generated from those values following the official layout (merged cells,
line breaks in labels, an offset grid in a foreign workbook), so that a reader that is
right for one format and wrong for another is caught.
"""

from __future__ import annotations

import argparse
import html
from collections.abc import Mapping
from pathlib import Path

import docx
import openpyxl
import pytest

from gkreport.commands import cli_import
from gkreport.core import addresses as addr
from gkreport.core.forms import Form, load_form
from gkreport.readers.published import Imported, ReportReadError, parse_value, read_published

REAL = Path(__file__).parent / "fixtures" / "real"

# ----------------------------------------------------------------------------- expected values

PINGTAN_NONZERO: dict[str, int | float] = {
    "t1.normative.issued": 77, "t1.normative.repealed": 132, "t1.normative.in_force": 470,
    "t1.license.decisions": 2629, "t1.penalty.decisions": 1330, "t1.coercion.decisions": 54,
    "t1.fee.amount": 5949.088667,
    "t2.new.person": 80, "t2.new.company": 1, "t2.new.total": 81,
    "t2.granted.person": 22, "t2.granted.total": 22,
    "t2.partial.person": 19, "t2.partial.company": 1, "t2.partial.total": 20,
    "t2.deny_third.person": 1, "t2.deny_third.total": 1,
    "t2.deny_process.person": 1, "t2.deny_process.total": 1,
    "t2.deny_case.person": 1, "t2.deny_case.total": 1,
    "t2.deny_query.person": 2, "t2.deny_query.total": 2,
    "t2.unable_none.person": 31, "t2.unable_none.total": 31,
    "t2.reject_repeat.person": 1, "t2.reject_repeat.total": 1,
    "t2.other_overdue.person": 1, "t2.other_overdue.total": 1,
    "t2.other_misc.person": 1, "t2.other_misc.total": 1,
    "t2.total.person": 80, "t2.total.company": 1, "t2.total.total": 81,
    "t3.review.upheld": 1, "t3.review.corrected": 1, "t3.review.total": 2,
    "t3.suit_direct.upheld": 4, "t3.suit_direct.pending": 1, "t3.suit_direct.total": 5,
    "t3.suit_after.upheld": 1, "t3.suit_after.other": 1, "t3.suit_after.total": 2,
}

XIUZHOU_NONZERO: dict[str, int | float] = {
    "t1.normative.total_public": 6,
    "t1.license.prev_items": 4633, "t1.license.change": -233, "t1.license.decisions": 4400,
    "t1.penalty.prev_items": 730, "t1.penalty.change": -139, "t1.penalty.decisions": 591,
    "t1.coercion.prev_items": 2511, "t1.coercion.change": -1657, "t1.coercion.decisions": 854,
    "t1.procurement.count": 3518, "t1.procurement.amount": 49966945.1,
    "t2.new.person": 5, "t2.new.total": 5,
    "t2.granted.person": 5, "t2.granted.total": 5,
    "t2.total.person": 5, "t2.total.total": 5,
    "t3.review.corrected": 1, "t3.review.total": 1,
}
# xiuzhou prints 0 in these cells; every other cell of tables 2 and 3 is blank there.
XIUZHOU_ZEROS = {
    "t1.rules.made", "t1.rules.published", "t1.rules.total_public",
    "t1.normative.made", "t1.normative.published",
    "t1.other_mgmt.prev_items", "t1.other_mgmt.change", "t1.other_mgmt.decisions",
    "t1.fee.prev_items", "t1.fee.change",
    "t3.suit_direct.total", "t3.suit_after.total",
}


def expected_pingtan() -> dict[str, int | float | None]:
    form = load_form("2021")
    return {cid: PINGTAN_NONZERO.get(cid, 0) for cid in form.cells}


def expected_xiuzhou() -> dict[str, int | float | None]:
    form = load_form("2019")
    out: dict[str, int | float | None] = {}
    for cid in form.cells:
        out[cid] = XIUZHOU_NONZERO.get(cid, 0 if cid in XIUZHOU_ZEROS else None)
    return out


def assert_values(got: Imported, expected: Mapping[str, int | float | None]) -> None:
    assert set(got.values) == set(expected), "every cell id of the form must be present"
    wrong = {cid: (got.values[cid], v) for cid, v in expected.items()
             if got.values[cid] != v or type(got.values[cid]) is not type(v)}
    assert not wrong, f"(got, expected): {wrong}"


# ----------------------------------------------------------------------------- the four real reports


def test_helan_all_zero() -> None:
    got = read_published(REAL / "helan-hongguang-2020.txt")
    assert (got.form, got.year, got.agency, got.date) == ("2019", 2020, "贺兰县洪广镇人民政府", "2021-01-26")
    assert_values(got, dict.fromkeys(load_form("2019").cells, 0))
    assert got.unplaced == []
    assert "2020 年洪广镇公开信息 1523 条" in got.text


def test_pingluo_all_zero_and_extra_column_reported() -> None:
    got = read_published(REAL / "pingluo-tongfu-2020.txt")
    assert (got.form, got.year, got.agency, got.date) == ("2019", 2020, "平罗县通伏乡人民政府", "2021-01-14")
    assert_values(got, dict.fromkeys(load_form("2019").cells, 0))
    # the extraction gives table 3 a 16th value "0": whichever of the 16 is extra, the 15 cells
    # are all 0, so they are placed and the import says so (info), nothing is an error
    assert got.unplaced == [] and got.complete
    (note,) = got.notes
    assert note.startswith("表三") and "16 个数值" in note and "“0”" in note and "未采用" in note


def test_xiuzhou_blanks_stay_blank() -> None:
    got = read_published(REAL / "xiuzhou-honghe-2020.txt")
    assert (got.form, got.year, got.agency) == ("2019", 2020, "洪合镇人民政府")
    assert got.date is None
    assert_values(got, expected_xiuzhou())
    assert isinstance(got.values["t1.procurement.amount"], float)
    assert got.unplaced == [] and got.notes == []
    assert "主动公开各类政府信息1200余条" in got.text


def test_pingtan_tsv() -> None:
    got = read_published(REAL / "pingtan-2023.tsv")
    assert (got.form, got.year, got.agency) == ("2021", 2023, "平潭综合实验区")
    assert_values(got, expected_pingtan())
    assert got.unplaced == [] and got.notes == []


def test_form_and_year_arguments_override(tmp_path: Path) -> None:
    got = read_published(REAL / "helan-hongguang-2020.txt", year=2019)
    assert got.year == 2019 and got.form == "2019"
    forced = read_published(REAL / "xiuzhou-honghe-2020.txt", form="2019", year=2020)
    assert_values(forced, expected_xiuzhou())


# ----------------------------------------------------------------------------- generated variants


def grid_spec(form: Form, table_id: str, values: Mapping[str, object],
              line_breaks: Mapping[str, str] | None = None) -> tuple[list[tuple[int, int, int, int, str]], int, int]:
    """The official grid of one table: (r1, c1, r2, c2, text) relative to its top-left, and its size."""
    t = form.table(table_id)
    dr, dc = t.first_row - 1, t.first_col - 1
    out = []
    for lab in t.labels:
        c1, r1, c2, r2 = addr.range_bounds(lab.range)
        out.append((r1 - dr, c1 - dc, r2 - dr, c2 - dc, (line_breaks or {}).get(lab.text, lab.text)))
    for cid in t.cell_ids:
        cell = form.cells[cid]
        c1, r1, c2, r2 = addr.range_bounds(cell.range)
        v = values.get(cid)
        out.append((r1 - dr, c1 - dc, r2 - dr, c2 - dc, "" if v is None else repr(v) if isinstance(v, float) else str(v)))
    return out, t.n_rows, t.n_cols


def add_docx_grid(doc: docx.document.Document, spec: list[tuple[int, int, int, int, str]], n_rows: int, n_cols: int) -> None:
    """A Word table with the grid's merges and texts (as a clerk's Word report has them)."""
    table = doc.add_table(rows=n_rows, cols=n_cols)
    for r1, c1, r2, c2, text in spec:
        cell = table.cell(r1 - 1, c1 - 1)
        if (r2, c2) != (r1, c1):
            cell = cell.merge(table.cell(r2 - 1, c2 - 1))
        cell.text = text


def drop_column(spec: list[tuple[int, int, int, int, str]], n_cols: int, col: int):
    """Remove grid column ``col`` (1-based) from a spec, shrinking merges that span it."""
    out = []
    for r1, c1, r2, c2, text in spec:
        if c1 == c2 == col:
            continue
        c1b = c1 - (c1 > col)
        c2b = c2 - (c2 >= col)
        out.append((r1, c1b, r2, c2b, text))
    return out, n_cols - 1


def html_table(spec, n_rows: int, n_cols: int, spacer_row: bool = False) -> str:
    top = {(r1, c1): (r2, c2, text) for r1, c1, r2, c2, text in spec}
    covered = {(r, c) for r1, c1, r2, c2, _ in spec for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    rows = []
    for r in range(1, n_rows + 1):
        tds = []
        for c in range(1, n_cols + 1):
            if (r, c) in top:
                r2, c2, text = top[(r, c)]
                span = (f' rowspan="{r2 - r + 1}"' if r2 > r else "") + (f' colspan="{c2 - c + 1}"' if c2 > c else "")
                body = "<br>".join(html.escape(part) for part in text.split("\n"))
                tds.append(f'<td{span} style="border:1px solid"><p>{body}</p></td>')
            elif (r, c) not in covered:
                tds.append("<td>&nbsp;</td>")
        rows.append("<tr>\n  " + "\n  ".join(tds) + "\n</tr>")
    if spacer_row:
        rows.append("<tr>" + "<td></td>" * n_cols + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


BREAKS_2021 = {"商业企业": "商业\n企业", "科研机构": "科研\n机构", "结果纠正": "结果\n纠正", "其他结果": "其他\n结果"}


def write_html(path: Path, form: Form, values: Mapping[str, object], *, drop_legal: bool = False) -> Path:
    parts = ["<html><head><meta charset=\"utf-8\"><title>报告</title><style>td{x:1}</style></head><body>",
             "<h1>平潭综合实验区2023年度政府信息公开工作年度报告</h1>",
             "<p>本报告依据《中华人民共和国政府信息公开条例》编制。</p>"]
    for t in form.tables:
        spec, n_rows, n_cols = grid_spec(form, t.id, values, BREAKS_2021)
        if drop_legal and t.id == "t2":
            spec, n_cols = drop_column(spec, n_cols, 8)  # H = 法律服务机构
        parts.append(f"<p>{html.escape(t.title)}</p>")
        parts.append(html_table(spec, n_rows, n_cols, spacer_row=t.id == "t3"))
    parts += ["<p>平潭综合实验区管理委员会</p>", "<p>2024年1月19日</p>", "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def test_html_with_rowspan_colspan(tmp_path: Path) -> None:
    form = load_form("2021")
    got = read_published(write_html(tmp_path / "pingtan.html", form, expected_pingtan()))
    assert (got.form, got.year, got.agency, got.date) == ("2021", 2023, "平潭综合实验区管理委员会", "2024-01-19")
    assert_values(got, expected_pingtan())
    assert got.unplaced == [] and got.notes == []
    assert "依据《中华人民共和国政府信息公开条例》" in got.text


def test_html_missing_legal_column(tmp_path: Path) -> None:
    form = load_form("2021")
    got = read_published(write_html(tmp_path / "nolegal.htm", form, expected_pingtan(), drop_legal=True))
    want = expected_pingtan()
    for cid in form.cells:
        if cid.startswith("t2.") and cid.endswith(".legal"):
            want[cid] = None
    assert_values(got, want)
    assert any("法律服务机构" in n for n in got.notes)
    assert got.unplaced == []


def test_html_2019_word_export_deviations(tmp_path: Path) -> None:
    """Deviations from the official layout: split merge in column A, a spacer row, a unit typed into a value cell."""
    form = load_form("2019")
    values: dict[str, object] = {**expected_xiuzhou(), "t1.procurement.amount": "75394432.52元"}
    parts = ["<html><body><p>洪合镇2020年度政府信息公开工作年度报告</p>"]
    for t in form.tables:
        spec, n_rows, n_cols = grid_spec(form, t.id, values, {"本年新制作数量": "本年新\n制作数量",
                                                               "（三）不予公开": "（三）\n不予公开"})
        if t.id == "t2":
            split = []
            for r1, c1, r2, c2, text in spec:
                if (r1, c1, r2, c2) == (6, 1, 25, 1):
                    split += [(6, 1, 15, 1, text), (16, 1, 25, 1, text)]
                else:
                    split.append((r1, c1, r2, c2, text))
            spec = split
        parts += [f"<p>{t.title}</p>", html_table(spec, n_rows, n_cols, spacer_row=t.id == "t3")]
    path = tmp_path / "word.htm"
    path.write_text("\n".join([*parts, "</body></html>"]), encoding="utf-8")
    got = read_published(path)
    assert (got.form, got.year) == ("2019", 2020)
    assert_values(got, values)  # type: ignore[arg-type]
    assert got.unplaced == []


def test_docx_from_pingtan_values(tmp_path: Path) -> None:
    form = load_form("2021")
    values = expected_pingtan()
    doc = docx.Document()
    doc.add_paragraph("平潭综合实验区2023年度政府信息公开工作年度报告")
    doc.add_paragraph("一、总体情况")
    for t in form.tables:
        doc.add_paragraph(t.title)
        add_docx_grid(doc, *grid_spec(form, t.id, values, BREAKS_2021))
    doc.add_paragraph("平潭综合实验区管理委员会")
    doc.add_paragraph("2024年1月19日")
    path = tmp_path / "pingtan.docx"
    doc.save(str(path))
    got = read_published(path)
    assert (got.form, got.year, got.agency, got.date) == ("2021", 2023, "平潭综合实验区管理委员会", "2024-01-19")
    assert_values(got, expected_pingtan())
    assert got.unplaced == []


def test_xlsx_offset_grid_labels_only(tmp_path: Path) -> None:
    """A workbook not made from our template: the grids start at C5 on "Sheet1", no merges."""
    form = load_form("2019")
    values = expected_xiuzhou()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws["A1"] = "洪合镇2020年度政府信息公开工作年度报告"
    top = 5
    for t in form.tables:
        ws.cell(row=top - 1, column=1, value=t.title)
        spec, n_rows, _ = grid_spec(form, t.id, {})
        for r1, c1, _r2, _c2, text in spec:
            if text:
                ws.cell(row=top + r1 - 1, column=3 + c1 - 1, value=text)
        for cid in t.cell_ids:
            cell = form.cells[cid]
            c1, r1, _, _ = addr.range_bounds(cell.range)
            if values[cid] is not None:
                ws.cell(row=top + r1 - t.first_row, column=3 + c1 - t.first_col, value=values[cid])
        top += n_rows + 3
    ws2 = wb.create_sheet("说明")
    ws2["A1"] = "洪合镇人民政府"
    path = tmp_path / "foreign.xlsx"
    wb.save(path)
    got = read_published(path)
    assert (got.form, got.year, got.agency) == ("2019", 2020, "洪合镇人民政府")
    assert_values(got, expected_xiuzhou())
    assert got.unplaced == []


def messy_text(form: Form, values: Mapping[str, object], *, drop_legal: bool = False) -> str:
    """A tab-separated text extraction: spaced labels, half-width brackets, shifted rows."""

    def mess(label: str, i: int) -> str:
        s = label.replace("（", "(").replace("）", ") ").replace("，", ",")
        return " ".join(s) if i % 3 == 0 and len(s) <= 6 else s

    def v(cid: str) -> str:
        x = values[cid]
        return "" if x is None else repr(x) if isinstance(x, float) else str(x)

    lines = ["", "平潭综合实验区 2023 年度政府信息公开工作年度报告", "", "一、总体情况", "", "二、主动公开政府信息情况", ""]
    t1 = form.table("t1")
    last_block = None
    for i, cid in enumerate(t1.cell_ids):
        cell = form.cells[cid]
        if cell.row_path[0] != last_block:
            last_block = cell.row_path[0]
            cols = [c for c in t1.cell_ids if form.cells[c].row_path[0] == last_block]
            col_labels = list(dict.fromkeys(form.cells[c].col_path[-1] for c in cols))
            lines.append(mess(last_block, 1) + "\t\t\t")
            lines.append("信息内容\t" + "\t".join(mess(lab, i) for lab in col_labels))
        row_cells = [c for c in t1.cell_ids if form.cells[c].row_key == cell.row_key]
        if cid == row_cells[0]:
            lines.append(mess(cell.row_path[-1], i) + "\t" + "\t".join(v(c) for c in row_cells))
    lines += ["", "三、收到和处理政府信息公开申请情况", ""]
    heads = ["商业企业", "科研机构", "社会组织", "法律服务机构", "其他"]
    if drop_legal:
        heads.remove("法律服务机构")
    lines.append("(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和)\t\t申请人情况\t\t\t\t\t\t总计\t")
    lines.append("\t\t自然人\t法人或其他组织\t\t\t\t\t\t")
    lines.append("\t\t\t" + "\t".join(heads) + "\t\t")
    t2 = form.table("t2")
    seen_parents: set[str] = set()
    for j, row_key in enumerate(dict.fromkeys(form.cells[c].row_key for c in t2.cell_ids)):
        cids = [c for c in t2.cell_ids if form.cells[c].row_key == row_key]
        if drop_legal:
            cids = [c for c in cids if not c.endswith(".legal")]
        path = form.cells[cids[0]].row_path
        shown = [p if p not in seen_parents else "" for p in path]
        seen_parents.update(path[:-1])
        label = "\t".join(mess(p, j) for p in shown)
        shift = "\t" if j % 4 == 1 else ""  # PDF extraction shifts some rows by a tab
        lines.append(shift + label + "\t" + "\t".join(v(c) for c in cids) + "\t")
    lines += ["", "四、政府信息公开行政复议、行政诉讼情况", ""]
    lines.append("行政复议\t\t\t\t\t行政诉讼\t\t\t\t\t\t\t\t\t")
    parts = ["结 果 维 持", "结果 纠正", "其他结果", "尚未审结", "总 计"]
    lines.append("\t".join(parts) + "\t未经复议直接起诉\t\t\t\t\t复议后起诉\t\t\t\t")
    lines.append("\t\t\t\t\t" + "\t".join(parts + parts))
    lines.append("\t".join(v(c) for c in form.table("t3").cell_ids))
    lines += ["", "五、存在的主要问题及改进情况", "", "无。", "", "平潭综合实验区管理委员会", "", "2024 年 1 月 19 日", ""]
    return "\n".join(lines)


def test_messy_text_spacing_and_half_width_brackets(tmp_path: Path) -> None:
    form = load_form("2021")
    path = tmp_path / "messy.txt"
    path.write_text(messy_text(form, expected_pingtan()), encoding="utf-8")
    got = read_published(path)
    assert (got.form, got.year, got.agency, got.date) == ("2021", 2023, "平潭综合实验区管理委员会", "2024-01-19")
    assert_values(got, expected_pingtan())
    assert got.unplaced == [] and got.notes == []


def test_messy_text_missing_legal_column(tmp_path: Path) -> None:
    form = load_form("2021")
    path = tmp_path / "nolegal.txt"
    path.write_text(messy_text(form, expected_pingtan(), drop_legal=True), encoding="gb18030")
    got = read_published(path)
    want = expected_pingtan()
    want.update({cid: None for cid in form.cells if cid.startswith("t2.") and cid.endswith(".legal")})
    assert_values(got, want)
    assert any("法律服务机构" in n and "留空" in n for n in got.notes)


def test_extra_value_in_a_row_is_reported(tmp_path: Path) -> None:
    text = (REAL / "helan-hongguang-2020.txt").read_text(encoding="utf-8")
    old = "二、上年结转政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0\t"
    assert old in text
    path = tmp_path / "extra.txt"
    path.write_text(text.replace(old, old + "7\t"), encoding="utf-8")
    got = read_published(path)
    # which of the eight values is extra is not known: the row is not guessed, it is reported
    (msg,) = got.unplaced
    assert msg.startswith("表二") and "第5行" in msg and "“7”" in msg and "8 个数值" in msg
    row = [c for c in got.values if c.startswith("t2.carried_in.")]
    assert set(row) <= got.unread and all(got.values[c] is None for c in row)
    assert not got.complete


def test_short_row_is_left_blank_and_reported(tmp_path: Path) -> None:
    text = (REAL / "helan-hongguang-2020.txt").read_text(encoding="utf-8")
    old = "二、上年结转政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0\t"
    path = tmp_path / "short.txt"
    path.write_text(text.replace(old, "二、上年结转政府信息公开申请数量\t\t0\t3\t0\t"), encoding="utf-8")
    got = read_published(path)
    assert all(got.values[f"t2.carried_in.{k}"] is None for k in ("person", "company", "total"))
    assert len(got.unplaced) == 1 and "“3”" in got.unplaced[0]


def test_values_are_kept_as_published() -> None:
    assert parse_value("0") == 0 and type(parse_value("0")) is int
    assert parse_value("49966945.1") == 49966945.1
    assert parse_value("-233") == -233
    for raw in ("75394432.52元", "/", "５", "5件", "1,234"):
        assert parse_value(raw) == raw
    assert parse_value(" ") is None and parse_value("") is None and parse_value(None) is None


# ----------------------------------------------------------------------------- errors


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportReadError, match="不存在"):
        read_published(tmp_path / "nope.txt")
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(ReportReadError, match="不支持"):
        read_published(tmp_path / "a.pdf")
    (tmp_path / "plain.txt").write_text("只有一段文字，没有表格。\n\n落款\n", encoding="utf-8")
    with pytest.raises(ReportReadError, match="没有找到"):
        read_published(tmp_path / "plain.txt")
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ReportReadError, match=r"二进制|编码"):
        read_published(tmp_path / "bin.txt")
    (tmp_path / "fake.docx").write_bytes(b"not a zip at all")
    with pytest.raises(ReportReadError, match="docx"):
        read_published(tmp_path / "fake.docx")
    import zipfile

    with zipfile.ZipFile(tmp_path / "other.xlsx", "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    with pytest.raises(ReportReadError, match="Excel"):
        read_published(tmp_path / "other.xlsx")
    with zipfile.ZipFile(tmp_path / "other.docx", "w") as zf:
        zf.writestr("hello.txt", "not a document")
    with pytest.raises(ReportReadError, match="Word"):
        read_published(tmp_path / "other.docx")
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(51 * 1024 * 1024)
    with pytest.raises(ReportReadError, match="过大"):
        read_published(big)


# ----------------------------------------------------------------------------- CLI


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gkreport")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_import.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize("name", ["xiuzhou-honghe-2020.txt", "pingtan-2023.tsv"])
def test_cli_import_end_to_end(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.xlsx"
    assert run_cli(["import", str(REAL / name), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    rep = read_published(REAL / name)
    assert "已生成" in printed and str(rep.year) in printed and rep.agency in printed
    wb = openpyxl.load_workbook(out)
    for cid, value in rep.values.items():
        ((sheet, ref),) = wb.defined_names[cid].destinations
        assert wb[sheet][ref.replace("$", "")].value == value, cid
    ((sheet, ref),) = wb.defined_names["hdr.agency"].destinations
    assert wb[sheet][ref.replace("$", "")].value == rep.agency
    # an existing output is not overwritten without --force
    assert run_cli(["import", str(REAL / name), "-o", str(out)]) == 2
    assert "已存在" in capsys.readouterr().err
    assert run_cli(["import", str(REAL / name), "-o", str(out), "--force"]) == 0


def test_cli_import_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["import", str(tmp_path / "missing.docx"), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert "文件不存在" in capsys.readouterr().err
    assert not (tmp_path / "o.xlsx").exists()
