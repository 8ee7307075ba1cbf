"""Benchmark ``consolidate`` against fair baselines measured in the same run.

``python benchmarks/consolidate.py [--sizes 1000 20000] [--rounds 3] [--jobs 2] [--data DIR] [--markdown]``

For each N an agency set is generated once (``make_agencies.py``, in a subprocess), then
every method runs in a fresh process, round after round, the order reversed every other
round (so a burst of load on this shared machine hits each method alike):

- ``consolidate``: the real ``consolidate()`` with the roster, plus ``write_summary()``, every
  file read (no reading cache: the first consolidation of these files);
- ``consolidate-again``: the same with the reading cache on, as the command line runs it, the
  cache filled by one run before the rounds: a county's next consolidation after files came
  in (``consolidation/read_cache.py``; the cache is this benchmark's own folder);
- ``calamine×2``: python-calamine reading the form's four sheets (基本信息, 表一–表三) of
  each file in 2 worker processes — the fair floor, since consolidate uses both cores;
- ``calamine×1``: the same read in one process (issue #11's baseline);
- ``openpyxl-ro``: ``openpyxl.load_workbook(read_only=True, data_only=True)`` and every
  row of the four sheets, one process, on the first ``--openpyxl-files`` files (~0.1 s a
  file), its time scaled to N (the loop is linear: one file after another);
- ``inflate×2``: inflating every zip member of each file (the CRC check every reader owes)
  in 2 processes — below this nothing that verifies the files can go (unless, as the
  consolidation reader does, byte-identical members are inflated once per process).

Times are taken inside each process (interpreter start and imports excluded; worker pools
included). The peak memory is of the whole process tree (the process and its workers,
resident set sizes summed, sampled every 20 ms with psutil: an upper bound, as pages
shared after fork count once per process) and as the sum of proportional set sizes (PSS:
shared pages divided among the processes sharing them). Ratios are medians of the
per-round ratios, of wall time and of CPU time (this process and its children): on a
machine shared with other work the CPU ratio is the steadier one. The load average is
printed with every round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
METHODS = ("consolidate", "consolidate-again", "calamine×2", "calamine×1", "openpyxl-ro", "inflate×2")
BASELINES = ("calamine×2", "calamine×1", "openpyxl-ro", "inflate×2")


# ---------------------------------------------------------------------------- the methods (in a worker)


def _form_sheets() -> set[str]:
    from gkreport.core.forms import load_form

    form = load_form("2021")
    return {form.header_sheet} | {c.sheet for c in form.cells.values()}


def _calamine_one(path: str, wanted: frozenset[str] = frozenset()) -> int:
    import python_calamine as pc

    cells = 0
    try:
        wb = pc.CalamineWorkbook.from_path(path)
        for name in wb.sheet_names:
            if name in wanted:
                cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python())
        wb.close()
    except Exception:  # the planted bad files
        pass
    return cells


def _inflate_one(path: str) -> int:
    import zipfile

    n = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                n += len(zf.read(info))
    except Exception:
        pass
    return n


def _pooled(fn: Callable[[str], int], files: list[str], jobs: int) -> int:
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return sum(pool.imap_unordered(fn, files, chunksize=max(1, min(16, len(files) // (jobs * 8) or 1))))


def _openpyxl_ro(files: list[str], wanted: set[str]) -> int:
    import openpyxl

    n = 0
    for p in files:
        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except Exception:
            continue
        for name in wb.sheetnames:
            if name in wanted:
                n += sum(1 for row in wb[name].iter_rows(values_only=True) for v in row if v is not None)
        wb.close()
    return n


def _run_method(method: str, folder: Path, jobs: int, sample: int) -> dict[str, float]:
    """Run one method on ``folder``; its time and CPU (this process and its children)."""
    import functools
    import resource

    files = sorted(str(p) for p in folder.iterdir() if p.suffix == ".xlsx" and not p.name.startswith("~$"))
    wanted = _form_sheets()
    if method.startswith("consolidate"):
        from gkreport.consolidation.consolidate import consolidate, write_summary
    extra: dict[str, float] = {}
    start = resource.getrusage(resource.RUSAGE_SELF)  # the start-up and imports are not counted
    t = time.perf_counter()
    if method.startswith("consolidate"):
        result = consolidate([folder], roster=folder.with_name(folder.name + "-名单.csv"), jobs=jobs,
                             prepare_summary=True, cache=method == "consolidate-again")  # as the command line does
        tw = time.perf_counter()
        write_summary(result, folder.with_name(folder.name + "-汇总.xlsx"), force=True)
        extra = {"write": time.perf_counter() - tw, "included": len(result.included)}
    elif method == "calamine×2":
        _pooled(functools.partial(_calamine_one, wanted=frozenset(wanted)), files, jobs)
    elif method == "calamine×1":
        for p in files:
            _calamine_one(p, frozenset(wanted))
    elif method == "openpyxl-ro":
        _openpyxl_ro(files[:sample], wanted)
        extra = {"scale": len(files) / min(sample, len(files))}
    elif method == "inflate×2":
        _pooled(_inflate_one, files, jobs)
    wall = (time.perf_counter() - t) * extra.get("scale", 1.0)
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime - start.ru_utime - start.ru_stime
    return {"wall": wall, "cpu": cpu, **extra}


# ---------------------------------------------------------------------------- the harness


def measure(method: str, folder: Path, jobs: int, sample: int) -> dict[str, float]:
    """``method`` in a fresh process; its own timing plus the process tree's peak RSS."""
    import psutil

    proc = subprocess.Popen([sys.executable, __file__, "--worker", method, str(folder), "--jobs", str(jobs),
                             "--openpyxl-files", str(sample)],
                            stdout=subprocess.PIPE, text=True)
    peak = peak_pss = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
            # PSS: pages shared by the forked workers counted once across the tree
            peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{method} 运行失败（退出码 {proc.returncode}）")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_mb": peak / 2**20, "pss_mb": peak_pss / 2**20}


def generate(n: int, root: Path) -> Path:
    d = root / f"set-{n}"
    if not d.exists():
        subprocess.run([sys.executable, str(HERE / "make_agencies.py"), str(n), str(d)], check=True)
    return d


def run_size(n: int, rounds: int, jobs: int, root: Path, sample: int,
             chosen: Sequence[str] = METHODS) -> dict[str, object]:
    folder = generate(n, root)
    methods = [m for m in METHODS if (m in chosen or m == "consolidate") and (m != "openpyxl-ro" or sample > 0)]
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    # One run before the rounds fills this benchmark's cache folder (built forms, and the
    # reading cache that consolidate-again's rounds then re-use), so round 1 pays no first-use cost.
    measure("consolidate-again", folder, jobs, sample)
    loads = []
    for r in range(rounds):
        load = os.getloadavg()[0]
        loads.append(load)
        order = methods if r % 2 == 0 else methods[::-1]
        line = []
        for m in order:
            got = measure(m, folder, jobs, sample)
            runs[m].append(got)
            line.append(f"{m} {got['wall']:.2f}s")
        print(f"  N={n} 第 {r + 1} 轮（负载 {load:.1f}）：" + "，".join(line), flush=True)
    return {"n": n, "runs": runs, "loads": loads}


def summarise(res: dict[str, object]) -> dict[str, float]:
    runs: dict[str, list[dict[str, float]]] = res["runs"]  # type: ignore[assignment]
    out: dict[str, float] = {"n": float(res["n"])}  # type: ignore[arg-type]
    for m, rs in runs.items():
        out[m] = statistics.median(x["wall"] for x in rs)
        out[m + ":cpu"] = statistics.median(x["cpu"] for x in rs)
        out[m + ":peak"] = max(x["peak_mb"] for x in rs)
        out[m + ":pss"] = max(x["pss_mb"] for x in rs)
        out[m + ":mb_per_1000"] = 1000 * out[m + ":peak"] / max(1.0, float(res["n"]))  # type: ignore[arg-type]
    cons = runs["consolidate"]
    out["write"] = statistics.median(x["write"] for x in cons)
    for b in BASELINES:
        if b in runs:
            out["ratio:" + b] = statistics.median(c["wall"] / x["wall"] for c, x in zip(cons, runs[b], strict=True))
            out["cpu:" + b] = statistics.median(c["cpu"] / x["cpu"] for c, x in zip(cons, runs[b], strict=True))
            if "consolidate-again" in runs:
                out["again:" + b] = statistics.median(c["wall"] / x["wall"] for c, x
                                                      in zip(runs["consolidate-again"], runs[b], strict=True))
    loads: list[float] = res["loads"]  # type: ignore[assignment]
    out["load_min"], out["load_max"] = min(loads), max(loads)
    return out


def markdown(rows: Sequence[dict[str, float]], rounds: int) -> str:
    head = (f"机器：{os.cpu_count()} 核，{platform.python_implementation()} {platform.python_version()}，"
            f"{platform.system()} {platform.machine()}；每种方式 {rounds} 轮交替运行，取中位数；"
            f"测量时 {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n")
    lines = ["| N | 负载 | consolidate s（写汇总表 s） | calamine×2 s | calamine×1 s | openpyxl-ro s | inflate×2 s "
             "| ÷calamine×2（≤ 1.5） | ÷calamine×1（≤ 2） | ÷inflate×2 | openpyxl-ro÷（外推） "
             "| CPU ÷calamine | 峰值 MB（进程树 PSS / RSS 之和，< 500） |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def cell(m: str, r: dict[str, float] = r) -> str:
            return f"{r[m]:.2f}" if m in r else "—"

        def ratio(m: str, r: dict[str, float] = r) -> str:
            return f"**{r['ratio:' + m]:.2f}**" if "ratio:" + m in r else "—"

        op = cell("openpyxl-ro")
        cpu = f"{r['cpu:calamine×1']:.2f}" if "cpu:calamine×1" in r else \
            f"{r['cpu:calamine×2']:.2f}" if "cpu:calamine×2" in r else "—"
        op_ratio = f"{1 / r['ratio:openpyxl-ro']:.1f}" if "ratio:openpyxl-ro" in r else "—"
        lines.append(f"| {int(r['n'])} | {r['load_min']:.1f}–{r['load_max']:.1f} | {r['consolidate']:.2f}（{r['write']:.2f}） "
                     f"| {cell('calamine×2')} | {cell('calamine×1')} | {op} | {cell('inflate×2')} "
                     f"| {ratio('calamine×2')} | {ratio('calamine×1')} | {ratio('inflate×2')} "
                     f"| {op_ratio} | {cpu} | {r['consolidate:pss']:.0f} / {r['consolidate:peak']:.0f} |")
    return head + "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="汇总性能测试（与同一次运行中测得的基准比较）")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--data", type=Path, help="测试数据文件夹（保留，下次复用）；默认用临时文件夹")
    p.add_argument("--openpyxl-files", type=int, default=200, help="openpyxl 基准读取的份数（按 N 外推；0 不测）")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="只测这些方式")
    p.add_argument("--markdown", action="store_true", help="输出 docs/benchmarks.md 用的 Markdown 表格")
    p.add_argument("--worker", nargs=2, metavar=("METHOD", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(_run_method(args.worker[0], Path(args.worker[1]), args.jobs, args.openpyxl_files)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        os.environ["GKREPORT_CACHE_DIR"] = str(Path(tmp) / "cache")  # the workers' (not the user's) cache
        os.environ.pop("GKREPORT_NO_CACHE", None)
        root = args.data or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for n in args.sizes:
            r = summarise(run_size(n, args.rounds, args.jobs, root, args.openpyxl_files, args.methods))
            rows.append(r)
            ratios = "，".join(f"÷{b} {r['ratio:' + b]:.2f}" for b in BASELINES if "ratio:" + b in r)
            print(f"N={n}：consolidate {r['consolidate']:.2f}s（写汇总表 {r['write']:.2f}s，CPU {r['consolidate:cpu']:.2f}s），"
                  f"{ratios}；进程树峰值内存 PSS {r['consolidate:pss']:.0f} MB（RSS 之和 {r['consolidate:peak']:.0f} MB）",
                  flush=True)
            if "consolidate-again" in r:
                again = "，".join(f"÷{b} {r['again:' + b]:.2f}" for b in BASELINES if "again:" + b in r)
                print(f"N={n}：再次汇总（读取缓存）consolidate-again {r['consolidate-again']:.2f}s"
                      f"（CPU {r['consolidate-again:cpu']:.2f}s），{again}", flush=True)
    if args.markdown:
        print()
        print(markdown(rows, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
