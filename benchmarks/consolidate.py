"""Benchmark ``consolidate`` against a raw python-calamine read and a naive openpyxl loop.

``python benchmarks/consolidate.py [--sizes 100 1000] [--jobs N] [--markdown]``

For each N the agency set is generated (in a subprocess, so its memory does not count)
into a temporary folder, then timed in this process, in this order:

(a) ``consolidate`` + ``write_summary`` — the real function, including the workbook;
(b) a raw python-calamine read: open each file, ``to_python`` the form's four sheets (the floor);
(c) a naive openpyxl loop: ``load_workbook`` each file and read the data cells.

Peak RSS is taken with ``resource.getrusage`` right after (a): this process plus the
largest child (the pool workers), a conservative upper bound.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import openpyxl
import python_calamine as pc

from gkreport.consolidate import consolidate, write_summary
from gkreport.forms import load_form

HERE = Path(__file__).resolve().parent


def _peak_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (self_kb + kids_kb) / 1024


def raw_calamine(files: list[Path]) -> int:
    """The floor: python-calamine reading the form's four sheets (基本信息, 表一–表三) of each
    file. Not every sheet: since the templates carry the live checks' hidden helper sheet,
    "every sheet" would time work that consolidation never does."""
    form = load_form("2021")
    wanted = {form.header_sheet} | {c.sheet for c in form.cells.values()}
    cells = 0
    for p in files:
        try:
            wb = pc.CalamineWorkbook.from_path(str(p))
            for name in wb.sheet_names:
                if name in wanted:
                    cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python())
            wb.close()
        except Exception:  # the planted bad files
            continue
    return cells


def naive_openpyxl(files: list[Path]) -> int:
    form = load_form("2021")
    n = 0
    for p in files:
        try:
            wb = openpyxl.load_workbook(p, data_only=True)
        except Exception:
            continue
        for cell in form.cells.values():
            if cell.sheet in wb.sheetnames and wb[cell.sheet][cell.ref].value is not None:
                n += 1
        wb.close()
    return n


def run_size(n: int, jobs: int | None, root: Path) -> dict[str, float]:
    d = root / f"set-{n}"
    t = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / "make_agencies.py"), str(n), str(d)], check=True)
    gen = time.perf_counter() - t
    files = sorted(p for p in d.iterdir() if p.suffix == ".xlsx" and not p.name.startswith("~$"))
    out = root / f"summary-{n}.xlsx"

    t = time.perf_counter()
    result = consolidate([d], year=None, form=None, roster=d.with_name(d.name + "-名单.csv"), strict=False,
                         jobs=jobs, progress=False)
    if result.form is None:
        from collections import Counter

        raise SystemExit(f"N={n}: 没有可汇总的文件：{Counter(e.reason for e in result.entries).most_common(3)}")
    tw = time.perf_counter()
    write_summary(result, out, force=True)
    w = time.perf_counter() - tw
    a = time.perf_counter() - t
    peak = _peak_mb()

    t = time.perf_counter()
    raw_calamine(files)
    b = time.perf_counter() - t

    t = time.perf_counter()
    naive_openpyxl(files)
    c = time.perf_counter() - t
    return {"n": n, "files": len(files), "gen": gen, "a": a, "w": w, "b": b, "c": c, "peak": peak,
            "included": len(result.included), "declined": declined(files)}


def declined(files: list[Path]) -> Counter[str]:
    """Why the fast reader left files to the full reader (not timed): a benchmark whose
    files all went the slow way would measure the wrong thing."""
    from gkreport.readers import ReadError

    try:
        from gkreport.readers.workbook import fast_decline_reason
    except ImportError:  # an older gkreport (comparing before and after a change)
        return Counter({"?": len(files)})
    out: Counter[str] = Counter()
    for p in files:
        try:
            why = fast_decline_reason(p)
        except ReadError:
            why = "无法读取"
        out[why or "快速读取"] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="汇总性能测试")
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--jobs", type=int)
    p.add_argument("--markdown", action="store_true", help="输出 Markdown 表格")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        for n in args.sizes:
            r = run_size(n, args.jobs, Path(tmp))
            rows.append(r)
            print(f"N={n}: 文件 {r['files']}（纳入 {r['included']}），生成 {r['gen']:.1f}s；"
                  f"consolidate {r['a']:.2f}s（其中写汇总表 {r['w']:.2f}s），calamine {r['b']:.2f}s，openpyxl {r['c']:.2f}s；"
                  f"a/b={r['a'] / r['b']:.2f}，c/a={r['c'] / r['a']:.1f}；峰值内存 {r['peak']:.0f} MB；"
                  f"读取方式 {dict(r['declined'].most_common(4))}",
                  flush=True)
    if args.markdown:
        print(f"\n机器：{os.cpu_count()} 核，{platform.python_implementation()} {platform.python_version()}，"
              f"{platform.system()} {platform.machine()}\n")
        print("| N | consolidate s | calamine s | openpyxl s | a/b (≤ 2) | c/a (≥ 10) | peak MB (< 500) |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['n']} | {r['a']:.2f} | {r['b']:.2f} | {r['c']:.2f} | {r['a'] / r['b']:.2f} | "
                  f"{r['c'] / r['a']:.1f} | {r['peak']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
