"""The template's live checks agree with the engine, proven by LibreOffice recalculation.

A spreadsheet SUM skips text, so before this the template said "✗ 应为 0" beside a
correct total holding "5件" while ``check`` reported nothing. Now, for every filling, the
✗ cells are exactly the identities the engine reports, and ⚠ marks the ones holding text.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from conftest import REAL_REPORTS, lo_convert_many
from gkreport.core import livecalc
from gkreport.core.engine import check
from gkreport.core.forms import Form, load_form
from gkreport.core.report import report_from_raw
from gkreport.core.values import parse_value
from gkreport.output.fill import fill_workbook
from gkreport.output.template import (
    FAIL_MARK,
    PASS_MARK,
    TEXT_NOTE,
    WARN_MARK,
    build_template,
    live_checks,
    save_workbook_atomic,
)
from gkreport.readers.ooxml import sheet_parts


def recalc_all(sources: list[Path], outdir: Path) -> dict[Path, Path]:
    """Recalculate many workbooks in one LibreOffice start."""
    return lo_convert_many(sources, "xlsx", outdir / "out")


def _write(form: Form, path: Path, values: dict, header: dict) -> Path:
    return save_workbook_atomic(fill_workbook(build_template(form), form, values, header), path)


def _engine_failing(form: Form, values: dict, header: dict) -> set[str]:
    """``rule:key`` of every identity the engine reports (grouped blank totals included)."""
    out = set()
    for f in check(report_from_raw(form, values, header)):
        if not f.instance or ":" not in f.instance:
            continue
        rule, key = f.instance.split(":", 1)
        if rule == "blank-total":  # blank totals grouped: every identity they break
            out.update(key.split(","))
        elif rule in {r.id for r in form.rules if r.type in ("equal", "compare")}:
            out.add(f"{rule}:{key}")
    return out


def _fillings(version: str) -> dict[str, dict]:
    """Fillings of a real report: text the engine reads, real errors, and both at once."""
    name = "pingtan-2023" if version == "2021" else "xiuzhou-honghe-2020"
    _, header, base = REAL_REPORTS[name]()
    form = load_form(version)
    t2 = "t2.granted.person"
    v = base[t2] or 0
    zero = next(c for c in form.table("t2").cell_ids if base[c] in (0, None) and not c.endswith(".total"))
    wide = str(v).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    big = max((c for c in form.table("t1").cell_ids if form.cells[c].type == "count"),
              key=lambda c: base[c] or 0)
    out = {
        "units": {t2: f"{v}件", "t2.granted.total": f"{base['t2.granted.total'] or 0}件"},
        "full-width, dashes, thousands": {
            t2: wide, zero: "/", "t3.review.other": "—", "t3.suit_after.pending": "-",
            big: f"{base[big]:,}" if base[big] else "1,234"},
        "real-errors": {t2: v + 3, "t3.review.total": (base["t3.review.total"] or 0) + 1},
        "text+error-elsewhere": {t2: f"{v}件", "t3.review.total": (base["t3.review.total"] or 0) + 2},
        "text+error-same-row": {t2: f"{v}件", "t2.granted.company": (base["t2.granted.company"] or 0) + 4},
        "rejected": {zero: "见附件", "t2.new.person": "约5件", "t3.review.upheld": -2},
        "blank-totals": {c: None for c in form.table("t2").cell_ids if c.endswith(".total")},
        "blank-grand-total": {"t2.total.total": None, "t3.review.total": None},
        "text-in-total-wrong": {"t2.granted.total": f"{(base['t2.granted.total'] or 0) + 1}件"},
    }
    return {k: ({**base, **chg}, header) for k, chg in out.items()}


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_live_failures_equal_engine_failures(tmp_path: Path, version: str) -> None:
    form = load_form(version)
    fillings = _fillings(version)
    paths = {k: _write(form, tmp_path / f"{version}-{k}.xlsx", vals, hdr) for k, (vals, hdr) in fillings.items()}
    done = recalc_all(list(paths.values()), tmp_path / "lo")
    checks, _ = live_checks(form)
    live_keys = {f"{c.instance.rule.id}:{c.instance.key}" for c in checks}
    for name, (values, header) in fillings.items():
        wb = openpyxl.load_workbook(done[paths[name]], data_only=True)
        shown = {f"{c.instance.rule.id}:{c.instance.key}": str(wb[c.sheet][c.cell].value) for c in checks}
        crosses = {k for k, s in shown.items() if s.startswith(FAIL_MARK)}
        engine = _engine_failing(form, values, header)
        assert engine <= live_keys, name
        assert crosses == engine, (name, crosses ^ engine)
        # Where an identity holds but reads text, the template says so instead of ✓.
        text_ids = {cid for cid, raw in values.items() if isinstance(raw, str)}
        for c in checks:
            key = f"{c.instance.rule.id}:{c.instance.key}"
            if key in engine:
                continue
            has_text = bool(text_ids & set(c.instance.cells()))
            rejected = any(parse_value(values.get(t), form.cells[t].type, form.cells[t].unit).state == "invalid"
                           for t in c.instance.cells())
            expected = PASS_MARK if not (has_text or rejected) else None
            if expected:
                assert shown[key] == PASS_MARK, (name, key, shown[key])
            else:
                assert shown[key].startswith(WARN_MARK), (name, key, shown[key])
        # The expected value a ✗ states is the engine's.
        for f in check(report_from_raw(form, values, header)):
            key = f.instance if f.instance in shown else None
            if key and f.expected is not None and f.instance.split(":")[0] != "T2-balance" and \
                    form.rule(f.rule).type == "equal":
                assert shown[key].endswith(f" {f.expected}"), (name, key, shown[key], f.message)
        header_texts = [str(wb[form.header_sheet].cell(row=r, column=2).value) for r in range(1, 30)]
        n_text = sum(1 for cid, raw in values.items()
                     if parse_value(raw, form.cells[cid].type, form.cells[cid].unit).state in ("converted", "na"))
        if n_text:
            assert any(t.startswith(f"{WARN_MARK} {n_text} 个单元格含文字") for t in header_texts), (name, header_texts)
        else:
            assert not any("个单元格含文字" in t for t in header_texts), (name, header_texts)
        if name == "units":  # the case from the issue: "5件" in a correct report is no error anywhere
            assert shown["T2-row-total:row=granted"] == TEXT_NOTE
            assert shown["T2-result-total:col=person"] == TEXT_NOTE
            assert not crosses and not [f for f in check(report_from_raw(form, values, header))
                                        if f.severity == "error"]
            assert any(t.startswith(f"{WARN_MARK} 合计均平衡") for t in header_texts)


RAW_CELLS = [
    "5件", "１２", "/", "／", "—", "——", "-", "－", "无", "不适用", "NA", "n/a", "Na", " 7 ", "7\n", "\u3000８\u3000",
    "1,234", "１，２３４", "1,234,567", "1,234.0", "12,34", "1,2345", "1,234.", "1,234e3", "12 345", "1 000",
    "abc", "见附件", "约5件", "1-2", "1/2", "1.2.3", "1:30", "5%", "$5", "(5)", "0x10", "TRUE",
    "1e3", "1E3", "1e+3", "1e-3x", "1e", "e5", "1e5.5", "1e13", "+4", "-3", "－５", "+-5", "--5",
    "3.", ".5", "1.5", "７.０", "０", "5万元", "5元", "件", "5件件", "５件", "3项", "2次", "", "   ",
    3, 0, -3, 2.5, 1e13, True,
]
RAW_AMOUNTS = ["59490886.67元", "5949.09万元", "0.5亿元", "12件", "1,234.5", "3.25", "-1", "1,234.5元", "７", "/",
               "2.5万元", "3亿元", 12.75, -0.5, "1e3元", "5元元", "万元", "１２．５万元", "8项", ""]


def _state_code(raw: object, ctype: str, unit: str | None) -> tuple[float, int]:
    v = parse_value(raw, ctype, unit)
    code = 0 if v.state in ("number", "blank") else livecalc.TEXT_READ if v.state in ("converted", "na") \
        else livecalc.REJECTED
    return v.arith, code


def _as_amounts(form: Form, unit: str | None) -> Form:
    """The form with every table-2 cell an amount in ``unit``: one workbook tries many amounts."""
    cells = {cid: replace(c, type="amount", unit=unit) if c.table == "t2" else c for cid, c in form.cells.items()}
    return replace(form, cells=cells)


_WIDE = str.maketrans("0123456789.,-+", "０１２３４５６７８９．，－＋")
_JUNK = [*"0123456789" * 3, *",.-+eE /—０１２，．－件项元万亿", "万元", "1,234", "  ", "\u3000"]


def _generated(rng: random.Random) -> str:
    """Number-like text as clerks type it (separators, units, full-width, signs, spaces),
    some of it right and some wrong; now and then plain junk from the same characters."""
    if rng.random() < 0.3:
        return "".join(rng.choice(_JUNK) for _ in range(rng.randint(1, 5)))
    n = rng.choice([0, 1, 7, 12, 999, 1000, 1234, 12345, 1234567, rng.randint(0, 10**9)])
    s = f"{n:,}" if rng.random() < 0.4 else str(n)
    if rng.random() < 0.2:
        s = s.replace(",", "", 1)
    if rng.random() < 0.3:
        s += rng.choice([".", ".0", ".5", ".25", ".0e1", "e2", "E-1", "e+3"])
    if rng.random() < 0.2:
        s = rng.choice("+-") + s
    if rng.random() < 0.1:
        s = "." + s
    if rng.random() < 0.4:
        s += rng.choice(["件", "项", "元", "万元", "亿元", "次", "件件", " 件"])
    if rng.random() < 0.25:
        s = s.translate(_WIDE)
    if rng.random() < 0.2:
        s = rng.choice([" ", "\u3000", "\n"]) + s + rng.choice(["", " ", "\u3000"])
    return s


def test_calc_sheet_reads_each_cell_as_the_engine(tmp_path: Path) -> None:
    """Value and state of the hidden sheet equal parse_value's, for counts and amounts: on
    listed contents and on ~500 generated ones (fixed seed)."""
    base = load_form("2021")
    rng = random.Random(2024)
    n = len(base.table("t2").cell_ids) + len(base.table("t3").cell_ids)
    cases = {"counts": (base, RAW_CELLS), "wan": (_as_amounts(base, "万元"), RAW_AMOUNTS),
             "yuan": (_as_amounts(base, "元"), RAW_AMOUNTS), "none": (_as_amounts(base, None), RAW_AMOUNTS),
             "gen-counts": (base, [_generated(rng) for _ in range(n)]),
             "gen-wan": (_as_amounts(base, "万元"), [_generated(rng) for _ in range(n)]),
             "gen-none": (_as_amounts(base, None), [_generated(rng) for _ in range(n)])}
    read_as_number = sum(1 for name, (form, raws) in cases.items() if name.startswith("gen")
                         for raw in raws if _state_code(raw, "count", None)[1] == livecalc.TEXT_READ)
    assert read_as_number > 100  # the generated contents do exercise the number grammar
    sources = {}
    for name, (form, raws) in cases.items():
        cells = [form.cells[c] for t in ("t2", "t3") for c in form.table(t).cell_ids]
        assert len(cells) >= len(raws)
        wb = build_template(form)
        for cell, raw in zip(cells, raws, strict=False):
            wb[cell.sheet][cell.ref].value = raw  # as typed: text stays text
        sources[name] = save_workbook_atomic(wb, tmp_path / f"{name}.xlsx")
    done = recalc_all(list(sources.values()), tmp_path / "lo")
    wrong = []
    for name, (form, raws) in cases.items():
        ws = openpyxl.load_workbook(done[sources[name]], data_only=True)[livecalc.CALC_SHEET]
        lay = livecalc.layout(form)
        cells = [form.cells[c] for t in ("t2", "t3") for c in form.table(t).cell_ids]
        for cell, raw in zip(cells, raws, strict=False):
            table = form.table(cell.table)
            got = (ws[lay.ref(cell, "value", table)].value, ws[lay.ref(cell, "state", table)].value)
            want = _state_code(raw, cell.type, cell.unit)
            if got[1] != want[1] or abs(float(got[0] or 0) - want[0]) > 1e-9 * max(1, abs(want[0])):
                wrong.append((name, raw, got, want))
    assert not wrong, wrong


def test_calc_sheet_is_very_hidden_and_locked() -> None:
    wb = build_template(load_form("2021"))
    ws = wb[livecalc.CALC_SHEET]
    assert ws.sheet_state == "veryHidden" and ws.protection.sheet
    assert all(len(_text(c.value)) < 8000 for row in ws.iter_rows() for c in row if c.value)  # Excel's limit


def _text(value: object) -> str:
    """A cell's formula as written (a shared formula's text is on its group's first cell)."""
    return str(value.text or "") if isinstance(value, ArrayFormula) else str(value)


def test_calc_sheet_is_written_once_per_band_and_means_each_cells_formula() -> None:
    """The helper sheet is written as shared formulas (a tenth of the size), and read back
    (openpyxl expands each group as a spreadsheet does) every cell holds exactly the
    formula :mod:`gkreport.core.livecalc` gives it."""
    for version in ("2019", "2021"):
        form = load_form(version)
        buf = io.BytesIO()
        build_template(form).save(buf)
        part = sheet_parts(zipfile.ZipFile(buf))[livecalc.CALC_SHEET]
        xml = zipfile.ZipFile(buf).read(part)
        assert len(xml) < 150_000 and xml.count(b't="shared"') > 1000  # was 927 KB, one formula a cell
        ws = openpyxl.load_workbook(buf)[livecalc.CALC_SHEET]
        want = dict(livecalc.calc_cells(form, livecalc.layout(form)))
        got = {c.coordinate: c.value for row in ws.iter_rows(min_row=2) for c in row if c.value is not None}
        assert got == want


def test_no_dynamic_array_functions_in_formulas() -> None:
    """Excel 2010, WPS and LibreOffice must all evaluate the template."""
    for version in ("2019", "2021"):
        wb = build_template(load_form(version))
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str | ArrayFormula) and _text(c.value).startswith("="):
                        assert not any(f in _text(c.value) for f in ("LET(", "LAMBDA(", "FILTER(", "_xlfn", "UNIQUE(",
                                                              "TEXTJOIN(", "IFS(", "SEQUENCE(")), c.value[:80]

