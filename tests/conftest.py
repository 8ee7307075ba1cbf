"""Shared fixtures: real reports as cell values, filled workbooks, LibreOffice."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gkreport.core.forms import load_form
from gkreport.output.fill import write_filled

FIXTURES = Path(__file__).parent / "fixtures"
REAL = FIXTURES / "real"

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
# Internal errors planted by tests are logged here, not in the user's ~/.gkreport/gkreport.log.
os.environ.setdefault("GKREPORT_LOG", os.path.join(__import__("tempfile").gettempdir(), "gkreport-tests.log"))
# The reading cache (consolidation/read_cache.py) would give a test that patches the reader the
# reading of an earlier test of the same bytes: off, except in tests/test_read_cache.py.
os.environ["GKREPORT_NO_CACHE"] = "1"


def _pingtan() -> tuple[str, dict, dict]:
    """Parse the transcription of 平潭 2023 (format in fixtures/real/README.md)."""
    form = load_form("2021")
    values: dict[str, object] = {}
    section = None
    by_path = {}
    for cell in form.cells.values():
        by_path[(cell.table, "/".join(cell.row_path), "/".join(cell.col_path))] = cell.id
    meta = {}
    for line in (REAL / "pingtan-2023.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            k, _, v = line[2:].partition(": ")
            meta[k] = v
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if not line.strip():
            continue
        parts = line.split("\t")
        if section == "table1":
            block, row, col, val = parts
            cid = by_path[("t1", f"{block}/{row}", col)]
            values[cid] = _num(val)
        elif section == "table2":
            if parts[0] == "row":
                continue
            cols = [c for c in form.cells.values() if c.table == "t2" and c.row_label.replace(" / ", "/") == parts[0]]
            assert len(cols) == 7, parts[0]
            for cell, val in zip(cols, parts[1:], strict=True):
                values[cell.id] = _num(val)
        elif section == "table3":
            group, col, val = parts
            cid = by_path[("t3", "", f"{group}/{col}")]
            values[cid] = _num(val)
    assert len(values) == len(form.cells)
    return "2021", {"hdr.agency": "平潭综合实验区", "hdr.year": int(meta["year"])}, values


def _num(text: str) -> object:
    text = text.strip()
    if not text:
        return None
    f = float(text)
    return int(f) if f.is_integer() else f


def _zeros(agency: str) -> tuple[str, dict, dict]:
    form = load_form("2019")
    return "2019", {"hdr.agency": agency, "hdr.year": 2020}, {c: 0 for c in form.cells}


def _xiuzhou() -> tuple[str, dict, dict]:
    """嘉兴市秀洲区洪合镇 2020: blanks stay blank (None), as published."""
    form = load_form("2019")
    v: dict[str, object] = {c: None for c in form.cells if c.startswith("t2.") or c.startswith("t3.")}
    t1 = {
        "rules": (0, 0, 0), "normative": (0, 0, 6),
    }
    for row, (a, b, c) in t1.items():
        v[f"t1.{row}.made"], v[f"t1.{row}.published"], v[f"t1.{row}.total_public"] = a, b, c
    for row, (a, b, c) in {"license": (4633, -233, 4400), "other_mgmt": (0, 0, 0), "penalty": (730, -139, 591),
                           "coercion": (2511, -1657, 854)}.items():
        v[f"t1.{row}.prev_items"], v[f"t1.{row}.change"], v[f"t1.{row}.decisions"] = a, b, c
    v["t1.fee.prev_items"], v["t1.fee.change"] = 0, 0
    v["t1.procurement.count"], v["t1.procurement.amount"] = 3518, 49966945.1
    for row in ("new", "granted", "total"):
        v[f"t2.{row}.person"] = 5
        v[f"t2.{row}.total"] = 5
    v["t3.review.corrected"] = 1
    v["t3.review.total"] = 1
    v["t3.suit_direct.total"] = 0
    v["t3.suit_after.total"] = 0
    assert set(v) == set(form.cells)
    return "2019", {"hdr.agency": "嘉兴市秀洲区洪合镇人民政府", "hdr.year": 2020}, v


REAL_REPORTS = {
    "pingtan-2023": _pingtan,
    "helan-hongguang-2020": lambda: _zeros("贺兰县洪广镇人民政府"),
    "pingluo-tongfu-2020": lambda: _zeros("平罗县通伏乡人民政府"),
    "xiuzhou-honghe-2020": _xiuzhou,
}


@pytest.fixture(params=sorted(REAL_REPORTS))
def real_report(request: pytest.FixtureRequest) -> tuple[str, str, dict, dict]:
    form, header, values = REAL_REPORTS[request.param]()
    return request.param, form, header, values


def make_filled(tmp_path: Path, name: str, form: str, values: dict, header: dict | None = None) -> Path:
    return write_filled(load_form(form), tmp_path / name, values, header or {})


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def lo_convert(src: Path, fmt: str, outdir: Path) -> Path:
    """Convert with LibreOffice headless (recalculates formulas on load)."""
    out = lo_convert_many([src], fmt, outdir)[src]
    assert out.exists(), f"LibreOffice did not write {out}"
    return out


def lo_convert_many(sources: list[Path], fmt: str, outdir: Path) -> dict[Path, Path]:
    """Convert many files in one LibreOffice start (each start costs seconds); source -> output."""
    exe = soffice()
    if exe is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / "lo-profile"
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    # Always recalculate OOXML files on load (LibreOffice's default may keep caches).
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
        '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>'
        '</oor:items>\n', encoding="utf-8")
    subprocess.run(
        [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--calc", "--convert-to", fmt,
         "--outdir", str(outdir), *map(str, sources)],
        check=True, capture_output=True, timeout=120 + 60 * len(sources),
    )
    return {s: outdir / (s.stem + "." + fmt.split(":")[0]) for s in sources}


def make_agencies() -> ModuleType:
    """``benchmarks/make_agencies.py`` (the synthetic county the consolidation tests use), loaded once."""
    if "make_agencies" in sys.modules:
        return sys.modules["make_agencies"]
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "make_agencies.py"
    spec = importlib.util.spec_from_file_location("make_agencies", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_agencies"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def excel_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The add-in's log in ``tmp_path``, and the once-per-process version check armed again."""
    from gkreport.addin import excel_app
    from gkreport.commands import runtime

    log = tmp_path / "gkreport.log"
    monkeypatch.setattr(runtime, "LOG_FILE", log)
    monkeypatch.setattr(excel_app, "_versions_checked", False)
    return log
