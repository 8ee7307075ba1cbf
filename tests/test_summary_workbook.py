"""The summary workbook as a printed document: print set-up, one header row, styles, charts."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Alignment

from conftest import make_agencies
from gkreport.consolidation.consolidate import consolidate
from gkreport.consolidation.summary_workbook import (
    BAD_FILL_RGB,
    HEAD_FILL_RGB,
    WARN_FILL_RGB,
    _xf,
    detail_label,
    lines_needed,
    text_width,
    write_summary,
)
from gkreport.core.forms import load_form
from gkreport.output.xlsx_rows import BulkRows, save_with_rows

mk = make_agencies()


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> tuple[openpyxl.Workbook, list[dict]]:
    """Six agencies, one with an error, one missing from the folder, one unreadable file."""
    tmp = tmp_path_factory.mktemp("summary")
    d = tmp / "in"
    records = mk.write_agencies(6, d, seed=11, error_share=0.0)
    records[2]["values"]["t2.granted.person"] = int(records[2]["values"]["t2.granted.person"] or 0) + 3
    form = load_form("2021")
    from gkreport.output.fill import fill_workbook
    from gkreport.output.template import build_template

    fill_workbook(build_template(form), form, records[2]["values"],
                  {"hdr.agency": records[2]["name"], "hdr.year": 2023}).save(records[2]["path"])
    (d / "坏.xlsx").write_bytes(b"PK\x03\x04broken")
    roster = mk.write_roster(tmp / "名单.csv", [*records, {"name": "某某县审计局", "level": "县本级"}])
    result = consolidate([d], roster=roster, jobs=1)
    out = write_summary(result, tmp / "s.xlsx")
    return openpyxl.load_workbook(out), records


def test_every_list_prints_landscape_with_its_header_on_every_page(summary) -> None:
    wb, _ = summary
    expected = {"分级汇总": "$1:$1", "报送情况": "$1:$2", "问题清单": "$1:$1", "明细": "$1:$1"}
    for name, titles in expected.items():
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape", name
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4), name
        assert ws.print_title_rows == titles, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0, name
    for name in ("分级汇总", "报送情况", "问题清单"):
        assert wb[name].page_setup.fitToWidth == 1, name  # one page wide
    detail = wb["明细"]
    # 200 columns cannot be legible on one page width: a few pages wide, the agency on each
    assert 5 <= detail.page_setup.fitToWidth <= 15 and detail.print_title_cols == "$A:$A"


def test_detail_has_one_header_row_of_official_label_paths(summary) -> None:
    wb, records = summary
    form = load_form("2021")
    ws = wb["明细"]
    ids = list(form.cells)
    head = [c.value for c in ws[1]]
    assert head == ["单位", "层级", *(detail_label(form, c) for c in ids), "文件"]
    assert detail_label(form, "t2.granted.person") == "表二·三（一）予以公开·自然人"
    assert detail_label(form, "t1.rules.issued") == "表一·规章·本年制发件数"
    assert detail_label(form, "t3.review.total") == "表三·行政复议·总计"
    assert len(set(head)) == len(head)  # every column told apart by its header alone
    h = ws["C1"]
    assert h.alignment.wrap_text and h.font.b and h.fill.fgColor.rgb.endswith(HEAD_FILL_RGB)
    longest = max(lines_needed(t, ws.column_dimensions["C"].width) for t in head[2:-1])
    assert ws.row_dimensions[1].height >= 14 * longest  # the wrapped labels show whole
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref.startswith("A1:")
    names = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(r["name"] for r in records)  # data from row 2: no second header


def test_status_sheet_is_styled_and_colours_what_needs_action(summary) -> None:
    wb, records = summary
    ws = wb["报送情况"]
    assert ws["A1"].value.startswith("共 7 个文件：纳入汇总 6 个，未纳入 1 个。名单 7 个单位：已报送 6")
    assert [c.value for c in ws[2]] == ["名单中的单位", "层级", "文件", "报表所填单位名称", "年度", "表式", "状态",
                                       "错误数", "警告数", "说明", "数据指纹"]
    assert all(c.fill.fgColor.rgb.endswith(HEAD_FILL_RGB) and c.font.b for c in ws[2])
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref == f"A2:K{ws.max_row}"
    assert ws.column_dimensions["J"].width >= 50
    rows = {r[6].value if r[6].value != "已纳入" else r[2].value: r for r in ws.iter_rows(min_row=3)}
    assert rows["未报送"][0].value == "某某县审计局"
    assert all(c.fill.fgColor.rgb.endswith(BAD_FILL_RGB) for c in rows["未报送"])
    assert all(c.fill.fgColor.rgb.endswith(BAD_FILL_RGB) for c in rows["未纳入"])  # the broken file
    assert rows["已纳入·有错误"][0].value == records[2]["name"]
    assert all(c.fill.fgColor.rgb.endswith(WARN_FILL_RGB) for c in rows["已纳入·有错误"])
    plain = rows[Path(records[0]["path"]).name]
    assert plain[6].value == "已纳入" and plain[0].fill.fill_type is None
    assert (plain[4].value, plain[5].value) == (2023, "2021版表式")
    # problems first: 未报送, 未纳入, then the included ones
    statuses = [r[6] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert statuses[:3] == ["未报送", "未纳入", "已纳入·有错误"]


def test_issue_messages_wrap_in_rows_sized_for_them(summary) -> None:
    wb, _ = summary
    ws = wb["问题清单"]
    assert ws.max_row >= 3
    for row in ws.iter_rows(min_row=2):
        msg = row[6]
        assert msg.alignment.wrap_text, msg.coordinate
        lines = lines_needed(msg.value or "", ws.column_dimensions["G"].width)
        if lines > 1:
            assert ws.row_dimensions[msg.row].height == 15 * lines


def test_each_chart_fits_a_page_with_its_title(summary) -> None:
    wb, records = summary
    ws = wb["图表"]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.scale == 100
    assert not ws.sheet_properties.pageSetUpPr.fitToPage  # charts print at their own size
    bar, pie = ws._charts
    for chart in (bar, pie):
        assert chart.title is not None
        # an A4 landscape page holds 27.7 x 18 cm inside the margins
        assert chart.width <= 26 and chart.height <= 17
    assert [b.id for b in ws.row_breaks.brk] == [32, 64]  # one chart per page
    assert bar.anchor._from.row == 0 and pie.anchor._from.row == 32
    # the bar chart ranks agencies, largest first, from the table under the charts
    head = next(r for r in range(1, 100) if ws.cell(row=r, column=1).value == "单位")
    values = [ws.cell(row=r, column=2).value for r in range(head + 1, head + 1 + len(records))]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize("text", ["汇总数不平（表二 D30）", "ａｂｃ、，。", "Ab 1", "한국어", ""])
def test_text_width_counts_wide_characters_twice(text: str) -> None:
    import unicodedata

    assert text_width(text) == sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_bulk_rows_carry_a_style_and_a_row_height(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"] = "头"
    wrap = _xf(wb, alignment=Alignment(wrap_text=True, vertical="top"))
    rows = [["短", 1], ["很长的说明" * 10, 2.5], ["=1+1", None]]
    save_with_rows(wb, tmp_path / "b.xlsx", {"S": BulkRows(2, rows, 3, 2, styles=[wrap, None],
                                                            height=lambda r: 60.0 if len(r[0]) > 10 else None)})
    got = openpyxl.load_workbook(tmp_path / "b.xlsx")["S"]
    assert [[c.value for c in r] for r in got.iter_rows(min_row=2)] == [["短", 1], ["很长的说明" * 10, 2.5],
                                                                        ["=1+1", None]]
    assert got["A3"].alignment.wrap_text and got["A4"].data_type == "s"  # text stays text
    assert not got["B3"].alignment.wrap_text
    assert got.row_dimensions[3].height == 60 and got.row_dimensions[2].height is None
