"""``gkreport publish``: the published annual report (.docx/.html).

The central guarantee is the round trip: ``import`` of what ``publish`` writes gives back
exactly the cells that were published, for random fillings of both forms and for every
real report. The tables must have exactly the official merges (checked in the .docx XML
and the HTML markup against the form JSON and against the official form's merges, transcribed below).
"""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gkreport.commands.cli import main
from gkreport.core.engine import check
from gkreport.core.forms import Form, load_form
from gkreport.core.report import Report, report_from_raw
from gkreport.core.stamp import cell_text
from gkreport.core.values import parse_value
from gkreport.publish import build_publication, publish
from gkreport.publish.grid import table_grid
from gkreport.readers import read_any
from gkreport.readers.published import read_published
from lo_writer import lo_pdf, lo_writer_convert

SAMPLES = Path(__file__).parents[1] / "samples"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

# The official form's merges, transcribed by hand (grid-relative, A1 = the table's top-left).
LAYOUT_MERGES = {
    ("2019", "t1"): "A1:D1 A5:D5 A9:D9 A13:D13 C14:D14 C15:D15 A16:D16 C17:D17 C18:D18",
    ("2021", "t1"): "A1:D1 A5:D5 B6:D6 B7:D7 A8:D8 B9:D9 B10:D10 B11:D11 A12:D12 B13:D13 B14:D14",
    ("2019", "t2"): "A1:C3 D1:J1 D2:D3 E2:I2 J2:J3 A4:C4 A5:C5 A6:A25 B6:C6 B7:C7 B8:B15 B16:B18 B19:B23 "
                    "B24:C24 B25:C25 A26:C26",
    ("2021", "t2"): "A1:C3 D1:J1 D2:D3 E2:I2 J2:J3 A4:C4 A5:C5 A6:A27 B6:C6 B7:C7 B8:B15 B16:B18 B19:B23 "
                    "B24:B26 B27:C27 A28:C28",
    ("2019", "t3"): "A1:E1 F1:O1 A2:A3 B2:B3 C2:C3 D2:D3 E2:E3 F2:J2 K2:O2",
    ("2021", "t3"): "A1:E1 F1:O1 A2:A3 B2:B3 C2:C3 D2:D3 E2:E3 F2:J2 K2:O2",
}


def _a1(r1: int, c1: int, r2: int, c2: int) -> str:
    return f"{chr(64 + c1)}{r1}:{chr(64 + c2)}{r2}"


def make_report(form: Form, raw: dict, header: dict | None = None) -> Report:
    return report_from_raw(form, raw, header if header is not None else
                           {"hdr.agency": "某某县人民政府办公室", "hdr.year": 2021 if form.version == "2021" else 2020,
                            "hdr.date": "2022-01-20"})


def canonical(values: dict) -> dict[str, str]:
    return {cid: cell_text(parse_value(v)) for cid, v in values.items()}


def assert_round_trip(report: Report, path: Path) -> None:
    publish(report, path)
    got = read_published(path)
    assert got.form == report.form.version
    assert got.unplaced == [] and got.notes == []
    want = {cid: cell_text(report.value(cid)) for cid in report.form.cells}
    diff = {cid: (v, want[cid]) for cid, v in canonical(got.values).items() if v != want[cid]}
    assert not diff, f"(imported, published): {diff}"
    assert (got.agency, got.year) == (report.agency, report.year)


# ----------------------------------------------------------------------------- the grid


@pytest.mark.parametrize("key", sorted(LAYOUT_MERGES))
def test_grid_has_exactly_the_official_merges(key: tuple[str, str]) -> None:
    version, table = key
    grid = table_grid(load_form(version), table)
    merges = {_a1(*m) for m in grid.merges() if not any(b.cell_id and (b.r1, b.c1, b.r2, b.c2) == m
                                                         for b in grid.boxes)}
    data_merges = {_a1(b.r1, b.c1, b.r2, b.c2) for b in grid.boxes if b.cell_id and b.merged}
    assert merges | data_merges == set(LAYOUT_MERGES[key].split())
    # every grid position is covered exactly once (table_grid raises otherwise)
    assert sum(b.rowspan * b.colspan for b in grid.boxes) == grid.n_rows * grid.n_cols


def _docx_boxes(tbl: etree._Element) -> set[tuple[int, int, int, int]]:
    """Merged ranges of a Word table, reconstructed from w:gridSpan and w:vMerge."""
    open_v: dict[int, list[int]] = {}  # start column -> [r1, c1, r2, c2]
    boxes: list[list[int]] = []
    for r, tr in enumerate(tbl.findall(f"{W}tr"), 1):
        c = 1
        for tc in tr.findall(f"{W}tc"):
            span_el = tc.find(f"{W}tcPr/{W}gridSpan")
            span = int(span_el.get(f"{W}val")) if span_el is not None else 1
            vm = tc.find(f"{W}tcPr/{W}vMerge")
            if vm is not None and vm.get(f"{W}val") != "restart":
                open_v[c][2] = r
            else:
                box = [r, c, r, c + span - 1]
                boxes.append(box)
                open_v[c] = box
            c += span
    return {tuple(b) for b in boxes if b[0] != b[2] or b[1] != b[3]}  # type: ignore[misc]


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_docx_tables_carry_the_official_merges(tmp_path: Path, version: str) -> None:
    form = load_form(version)
    out = publish(make_report(form, dict.fromkeys(form.cells, 1)), tmp_path / "r.docx")
    with zipfile.ZipFile(out) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    tables = root.findall(f".//{W}tbl")
    assert len(tables) == 3
    for tbl, table in zip(tables, form.tables, strict=True):
        assert _docx_boxes(tbl) == set(table_grid(form, table.id).merges()), table.id
        # real borders on every edge, A4 page
        assert {e.tag.removeprefix(W) for e in tbl.find(f"{W}tblPr/{W}tblBorders")} >= {
            "top", "left", "bottom", "right", "insideH", "insideV"}
    pg = root.find(f".//{W}sectPr/{W}pgSz")
    assert (int(pg.get(f"{W}w")), int(pg.get(f"{W}h"))) == (11906, 16838)  # A4 in twips
    with zipfile.ZipFile(out) as z:
        styles = z.read("word/styles.xml").decode("utf-8")
    assert 'w:eastAsia="仿宋"' in styles


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.style_attrs = 0
        self.spans: list[list[tuple[int, int, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        self.style_attrs += "style" in a
        if tag == "table":
            self.spans.append([])
        if tag in ("td", "th"):
            self.spans[-1].append((int(a.get("rowspan", 1)), int(a.get("colspan", 1)), tag))


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_html_is_semantic_and_has_the_official_merges(tmp_path: Path, version: str) -> None:
    form = load_form(version)
    rep = make_report(form, dict.fromkeys(form.cells, 2),
                      {"hdr.agency": "<script>alert(1)</script>局", "hdr.year": 2021})
    out = publish(rep, tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;" in text
    p = _Html()
    p.feed(text)
    assert p.tags.count("style") == 1 and p.style_attrs == 0
    for tag in ("table", "caption", "thead", "tbody"):
        assert p.tags.count(tag) == 3, tag
    for cells, table in zip(p.spans, form.tables, strict=True):
        grid = table_grid(form, table.id)
        assert sorted((rs, cs) for rs, cs, _ in cells) == sorted((b.rowspan, b.colspan) for b in grid.boxes)
        assert sum(1 for *_, tag in cells if tag == "td") == len(table.cell_ids)


# ----------------------------------------------------------------------------- round trip


def _cell_strategy(form: Form, cid: str) -> st.SearchStrategy:
    ctype = form.cells[cid].type
    blank = st.none()
    if ctype == "amount":
        dec = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
        return st.one_of(blank, dec.map(float), st.integers(0, 10**6))
    if ctype == "signed":
        return st.one_of(blank, st.integers(-10**5, 10**5))
    return st.one_of(blank, st.integers(0, 10**5))


def _fillings(version: str) -> st.SearchStrategy:
    form = load_form(version)
    return st.fixed_dictionaries({cid: _cell_strategy(form, cid) for cid in form.cells})


@pytest.mark.parametrize("suffix", [".docx", ".html"])
@pytest.mark.parametrize("version", ["2019", "2021"])
def test_blank_tables_round_trip(tmp_path: Path, version: str, suffix: str) -> None:
    """A table with no numbers at all: Word's vertical merges (三、本年度办理结果 down 20 rows)
    must keep every value column in place, or the row labels are read as values."""
    form = load_form(version)
    assert_round_trip(make_report(form, dict.fromkeys(form.cells)), tmp_path / f"blank{suffix}")


@pytest.mark.parametrize("suffix", [".docx", ".html"])
@pytest.mark.parametrize("version", ["2019", "2021"])
def test_publish_then_import_is_identity(tmp_path_factory: pytest.TempPathFactory, version: str, suffix: str) -> None:
    form = load_form(version)

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(raw=_fillings(version))
    def run(raw: dict) -> None:
        path = tmp_path_factory.mktemp("rt") / f"r{suffix}"
        report = make_report(form, raw)
        assert_round_trip(report, path)
        got = read_published(path).values
        for cid, v in raw.items():  # numbers come back as the same numbers, blanks as blanks
            assert got[cid] == v and (got[cid] is None) == (v is None), cid
        # the generated sentences never contradict the tables (the engine's narrative rule)
        assert not [f.message for f in check(read_any(path)) if f.rule == "narrative-vs-table"]

    run()


@pytest.mark.parametrize("suffix", [".docx", ".html"])
def test_real_reports_round_trip(tmp_path: Path, real_report, suffix: str) -> None:
    name, version, header, values = real_report
    report = make_report(load_form(version), values, {**header, "hdr.date": "2021-01-26"})
    assert_round_trip(report, tmp_path / f"{name}{suffix}")
    assert read_published(tmp_path / f"{name}{suffix}").date == "2021-01-26"


@pytest.mark.parametrize("suffix", [".docx", ".html"])
def test_sample_workbook_round_trips_with_text_cells(tmp_path: Path, suffix: str) -> None:
    """The bundled template workbook, and one whose cells hold "5件", "/" and a unit amount."""
    report = read_any(SAMPLES / "pingtan-2023.xlsx")
    assert_round_trip(report, tmp_path / f"p{suffix}")
    raw = {cid: v.raw for cid, v in report.values.items()}
    raw.update({"t2.new.person": "80件", "t2.deny_secret.person": "/", "t1.fee.amount": "5949.09万元"})
    assert_round_trip(make_report(report.form, raw, report.header), tmp_path / f"q{suffix}")


# ----------------------------------------------------------------------------- content


def test_sentences_agree_with_tables_and_never_invent_zero(tmp_path: Path) -> None:
    form = load_form("2021")
    raw = dict.fromkeys(form.cells)
    raw.update({"t2.new.person": 7, "t2.new.company": 2, "t2.new.research": 1, "t2.new.nonprofit": 0,
                "t2.new.legal": 0, "t2.new.other_org": 0, "t2.new.total": 10,
                "t2.granted.total": 6, "t2.deny_secret.total": 1, "t2.deny_third.total": 2,
                "t2.total.total": 9, "t2.carried_out.total": 1, "t3.review.total": 3,
                "t3.suit_direct.total": 1, "t3.suit_after.total": 4})
    report = make_report(form, raw)
    pub = build_publication(report)
    text = {s.title: "".join(p.text for p in s.parts if hasattr(p, "text")) for s in pub.sections}
    assert [s.title for s in pub.sections] == ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                                               "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况",
                                               "六、其他需要报告的事项"]
    one, three = text["一、总体情况"], text["三、收到和处理政府信息公开申请情况"]
    assert "新收政府信息公开申请 10 件" in one and "被申请行政复议 3 件" in one and "被提起行政诉讼 5 件" in one
    assert "结转下年度继续办理 1 件" in one
    assert "上年结转" not in one and "上年结转" not in three  # blank: not written as 0
    assert "予以公开 6 件" in three and "合计 9 件" in three and "法人或其他组织提出 3 件" in three
    # 不予公开 needs all eight rows filled: five are blank, so the clause is left out
    assert "不予公开" not in three and "部分公开" not in three
    # what the importer and the engine read back agrees with the tables
    out = publish(report, tmp_path / "r.docx")
    findings = check(read_any(out))
    assert not [f for f in findings if f.rule == "narrative-vs-table"]
    assert "（请在此填写" in read_published(out).text


def test_placeholders_and_signature_for_a_report_without_header(tmp_path: Path) -> None:
    form = load_form("2019")
    report = make_report(form, dict.fromkeys(form.cells, 0), {})
    pub = build_publication(report)
    assert [p.text for p in pub.signature] == ["（单位名称）", "（发布日期）"] and all(p.todo for p in pub.signature)
    six = next(s for s in pub.sections if s.title.startswith("六"))
    assert "信息处理费" not in six.parts[0].text  # the 2019 outline predates the fee


# ----------------------------------------------------------------------------- CLI and LibreOffice


def test_cli_publish(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "年报.docx"
    assert main(["publish", str(SAMPLES / "pingtan-2023.xlsx"), "-o", str(out)]) == 0
    assert out.is_file() and "黄色提示文字" in capsys.readouterr().out
    assert main(["publish", str(SAMPLES / "pingtan-2023.xlsx"), "-o", str(out)]) == 2  # exists
    assert main(["publish", str(SAMPLES / "pingtan-2023.xlsx"), "-o", str(tmp_path / "x.pdf")]) == 2
    bad = tmp_path / "bad.html"
    assert main(["publish", str(SAMPLES / "pingtan-2023-with-errors.xlsx"), "-o", str(bad)]) == 1
    assert bad.is_file() and "发布前请先更正" in capsys.readouterr().err
    assert main(["publish", str(tmp_path / "nope.xlsx"), "-o", str(tmp_path / "n.html")]) == 2
    # a marked copy from `check --mark` publishes the same cells as its source
    main(["check", str(SAMPLES / "pingtan-2023.xlsx"), "--mark", str(tmp_path / "m"), "--mark-all", "-q"])
    assert main(["publish", str(tmp_path / "m" / "pingtan-2023.checked.xlsx"), "-o", str(tmp_path / "c.html")]) == 0
    assert main(["publish", str(SAMPLES / "pingtan-2023.xlsx"), "-o", str(tmp_path / "y.html")]) == 0
    assert read_published(tmp_path / "c.html").values == read_published(tmp_path / "y.html").values
    assert not list(tmp_path.glob(".~gk-*"))


def test_docx_opens_in_libreoffice(tmp_path: Path) -> None:
    report = read_any(SAMPLES / "pingtan-2023.xlsx")
    pdf = lo_pdf(publish(report, tmp_path / "pingtan.docx"), tmp_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 2


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_libreoffice_resave_imports_to_the_same_cells(tmp_path: Path, version: str) -> None:
    """A clerk opens the .docx in LibreOffice/WPS and saves it again: still the same cells.
    (LibreOffice re-rounds column widths on saving, which can add a sliver grid column to
    table 3, so the merges are checked on our own output above, not on its re-save.)"""
    form = load_form(version)
    raw = {cid: (i % 7 if i % 5 else None) for i, cid in enumerate(form.cells)}
    report = make_report(form, raw)
    resaved = lo_writer_convert(publish(report, tmp_path / "r.docx"), tmp_path / "lo", "docx")
    got = read_published(resaved)
    assert got.unplaced == [] and got.notes == []
    assert canonical(got.values) == {cid: cell_text(report.value(cid)) for cid in form.cells}
