"""The benchmark generator: distinct names for a province, and its fast writer writes what openpyxl writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from gkreport.consolidation.roster import normalise_name
from gkreport.readers import read_any
from gkreport.readers.workbook import fast_decline_reason

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "make_agencies.py"


def _load() -> ModuleType:
    if "make_agencies" in sys.modules:
        return sys.modules["make_agencies"]
    spec = importlib.util.spec_from_file_location("make_agencies", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_agencies"] = mod
    spec.loader.exec_module(mod)
    return mod


mk = _load()


def test_names_are_distinct_and_deterministic_for_a_province() -> None:
    names = mk.agency_names(100_000, seed=3)
    assert len(names) == 100_000
    assert len({normalise_name(n) for n, _ in names}) == 100_000  # distinct as consolidate compares them
    assert mk.agency_names(4100, seed=3) == names[:4100]
    assert all(n.endswith(("局", "委员会", "馆", "中心", "办事处", "人民政府")) for n, _ in names)


def test_fast_writer_writes_what_openpyxl_writes(tmp_path: Path) -> None:
    slow = mk.write_agencies(6, tmp_path / "slow", seed=21, error_share=0.5)
    fast = mk.write_agencies(6, tmp_path / "fast", seed=21, error_share=0.5, fast=True)
    assert [r["name"] for r in slow] == [r["name"] for r in fast]
    for a, b in zip(slow, fast, strict=True):
        assert fast_decline_reason(b["path"]) is None  # the benchmark measures the fast reader
        for mode in ("fast", "full"):
            ra, rb = read_any(a["path"], mode=mode), read_any(b["path"], mode=mode)
            assert ra.values == rb.values and ra.header == rb.header, (a["path"], mode)
        assert read_any(b["path"], mode="full").values["t2.new.total"].number == b["values"]["t2.new.total"]
