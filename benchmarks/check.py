"""Benchmark ``gkreport check FOLDER`` against ``gkreport consolidate FOLDER`` on the same files.

``python benchmarks/check.py [--n 1000] [--rounds 5] [--folder DIR] [--old 50]``

Both are run as whole commands (interpreter start, imports, printing or writing the summary
included), alternately, ``rounds`` times each after one warm-up of each, so that load from
other users of a shared machine falls on both alike; the ratio is taken per pair and the
median reported. ``--old K`` also times the check of today's single-file path (every file
through openpyxl's full load, serially) on K files, extrapolated to the folder, for scale.
CPU time (user + system of the command and its workers) is reported beside wall time: on a
loaded machine it is the steadier measure. Both commands run with ``--no-cache`` (every file
read, as the first time); ``--again`` times them as re-runs instead, the reading cache filled
by the warm-up (this benchmark's own cache folder either way).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one command (stdout and stderr discarded)."""
    c, t = _cpu(), time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t, _cpu() - c


def old_path(folder: Path, k: int) -> float:
    """Seconds per file of the single-file full check (the path `check` used before)."""
    from gkreport.markers.checking import check_file
    from gkreport.readers.inputs import collect_files

    files = collect_files([folder])[0][:k]
    check_file(files[0])  # imports and forms loaded outside the timing
    t = time.perf_counter()
    for f in files:
        check_file(f, mode="full")
    return (time.perf_counter() - t) / len(files)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="校验与汇总的速度对比（同一文件夹，交替运行）")
    p.add_argument("--n", type=int, default=1000, help="单位数（生成测试文件夹时）")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--folder", type=Path, help="已生成的文件夹（make_agencies.py 的输出）；不给则临时生成")
    p.add_argument("--old", type=int, default=0, metavar="K", help="另测旧的逐个完整读取方式（K 份，按比例折算）")
    p.add_argument("--again", action="store_true", help="测再次运行（沿用读取缓存），而不是每份都重新读取")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gk-bench-check-") as tmp:
        os.environ["GKREPORT_CACHE_DIR"] = str(Path(tmp) / "cache")  # the commands' (not the user's) cache
        os.environ.pop("GKREPORT_NO_CACHE", None)
        folder = args.folder
        if folder is None:
            folder = Path(tmp) / "agencies"
            subprocess.run([sys.executable, str(HERE / "make_agencies.py"), str(args.n), str(folder)], check=True)
        n = sum(1 for q in folder.rglob("*") if q.is_file())
        gk = [sys.executable, "-m", "gkreport"]
        fresh = [] if args.again else ["--no-cache"]
        check = [*gk, "check", str(folder), "-q", *fresh]
        cons = [*gk, "consolidate", str(folder), "-o", str(Path(tmp) / "汇总.xlsx"), "--force", *fresh]
        timed(check), timed(cons)  # warm-up: the page cache, the .pyc files
        rows = []
        for i in range(args.rounds):
            pair = (timed(check), timed(cons)) if i % 2 == 0 else tuple(reversed((timed(cons), timed(check))))
            rows.append(pair)
            (cw, cc), (sw, sc) = pair
            print(f"第 {i + 1} 轮：check {cw:.2f}s（CPU {cc:.2f}s），consolidate {sw:.2f}s（CPU {sc:.2f}s），"
                  f"比值 {cw / sw:.2f}（CPU {cc / sc:.2f}）", flush=True)
        wall = [c[0] / s[0] for c, s in rows]
        cpu = [c[1] / s[1] for c, s in rows]
        print(f"{n} 个文件，{os.cpu_count()} 核，{args.rounds} 轮交替："
              f"check 中位数 {statistics.median(c[0] for c, _ in rows):.2f}s，"
              f"consolidate 中位数 {statistics.median(s[0] for _, s in rows):.2f}s；"
              f"check/consolidate 逐对比值中位数 {statistics.median(wall):.2f}（最小 {min(wall):.2f}，最大 {max(wall):.2f}），"
              f"CPU 比值中位数 {statistics.median(cpu):.2f}")
        if args.old:
            per = old_path(folder, args.old)
            print(f"旧方式（逐个 openpyxl 完整读取，串行）：每份 {per * 1000:.0f} ms，折算 {n} 份约 {per * n:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
