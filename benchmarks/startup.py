"""Start-up cost of single-file commands, as ratios to ``python -c pass`` (issue #16).

``python benchmarks/startup.py [--rounds 21] [--markdown] [--before OLD/src]``

Every case is a fresh process, as a clerk's command or a ribbon click is. The cases run
in alternating rounds (round k runs every case once, in an order rotated by k), so a
change in the machine's load affects all of them alike; the table gives each case's
median wall time and median CPU time (user + system of the child, from ``getrusage``)
and both as ratios to the median of ``python -c pass`` in the same run. One warm-up
round (bytecode caches, disk cache) is not counted; ``PYTHONDONTWRITEBYTECODE`` is dropped
from the children's environment, so gkreport's modules run from their ``.pyc``, as installed.

Cases:

- ``--version``, ``-h``, ``describe``: the console script ``gkreport`` next to this Python;
- ``check clean`` / ``check errors``: ``gkreport check`` of ``samples/pingtan-2023.xlsx``
  (no findings) and of ``samples/pingtan-2023-with-errors.xlsx`` (five errors to locate);
- ``xlcall show_help``: what every ribbon click starts, ``python -m gkreport.addin.xlcall <button>
  --pid=N --addin-version=V --xlwings-version=V`` (``addin/gkreport_ribbon.bas``). There is no
  Excel here, so the button's message cannot be shown and is logged (exit 3): the time is the
  launcher's, xlwings' and gkreport.addin.excel's start, which every button pays;
- ``xlcall check_active (imports)``: the launcher plus what the 校验 button imports and loads
  before it reads the workbook (the engine, the readers, the form);
- ``--floors``: importing openpyxl (with and without numpy), jsonschema, the solver alone
  (numpy + highspy, which localisation uses; numpy + scipy.optimize, which it used before, from
  the ``bench`` extra), and a python-calamine read of the clean file: what a command costs that imports them;
- ``--before SRC``: every case again with an older source tree first on ``PYTHONPATH``
  (``git archive <commit> src rules templates samples addin | tar -x -C OLD``; ``--before OLD/src``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"

CHECK_ACTIVE_IMPORTS = (  # as xlcall.main does it (an older tree has no runtime.import_openpyxl)
    "import sys, gkreport.addin.xlcall as m, gkreport.commands.runtime as r; m.import_xlwings(); "
    "'check_active' in getattr(m, 'WORKBOOK_BUTTONS', ('check_active',)) and "
    "getattr(r, 'import_openpyxl', lambda: None)(); import gkreport.addin.excel; "
    "import gkreport.core.engine, gkreport.readers.workbook_layout, gkreport.markers.marking, gkreport.markers.xlwings_marker; "
    "from gkreport.core.forms import load_form; load_form('2021')"
)


def gkreport_command() -> list[str]:
    """The console script of this environment (what a clerk types), else ``python -m gkreport``."""
    script = Path(sys.executable).with_name("gkreport")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gkreport"]


def cases(work: Path) -> dict[str, list[str]]:
    """name -> command line; the first is the baseline."""
    clean = shutil.copy(SAMPLES / "pingtan-2023.xlsx", work / "clean.xlsx")
    errors = shutil.copy(SAMPLES / "pingtan-2023-with-errors.xlsx", work / "errors.xlsx")
    gk = gkreport_command()
    click = ["--pid=1", f"--addin-version={version('gkreport')}", f"--xlwings-version={version('xlwings')}"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "gkreport --version": [*gk, "--version"],
        "gkreport -h": [*gk, "-h"],
        "gkreport describe": [*gk, "describe"],
        "gkreport check clean.xlsx": [*gk, "check", str(clean)],
        "gkreport check errors.xlsx": [*gk, "check", str(errors)],
        "xlcall show_help": [sys.executable, "-m", "gkreport.addin.xlcall", "show_help", *click],
        "xlcall check_active (imports)": [sys.executable, "-c", CHECK_ACTIVE_IMPORTS],
    }


# What the libraries alone cost (``--floors``): the parts of a command's start gkreport cannot
# make cheaper except by not importing them.
FLOORS = {
    "floor: import openpyxl (no numpy)": "from gkreport.commands.runtime import import_openpyxl; import_openpyxl()",
    "floor: import openpyxl + numpy": "import openpyxl",
    "floor: import jsonschema": "import jsonschema",
    "floor: import numpy + highspy": "import numpy, highspy",
    "floor: import numpy + scipy.optimize": "import numpy, scipy.optimize, scipy.sparse, scipy.linalg",
    "floor: python-calamine read": ("import sys, python_calamine as pc; wb = pc.CalamineWorkbook.from_path(sys.argv[1]); "
                                    "[wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names]"),
}


def with_source(commands: dict[str, list[str]], before: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Every case, and (with ``--before``) every gkreport case again with another source tree
    first on ``PYTHONPATH`` (e.g. ``git archive`` of an older commit): name -> (command, env)."""
    out: dict[str, tuple[list[str], dict[str, str]]] = {name: (cmd, {}) for name, cmd in commands.items()}
    for name, cmd in list(commands.items())[1:]:
        out[f"{name} (before)"] = (cmd, {"PYTHONPATH": str(before)})
    return out


def run_once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``cmd`` (its output is discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(commands: dict[str, tuple[list[str], dict[str, str]]], rounds: int, env: dict[str, str],
            cwd: Path) -> dict[str, tuple[list[float], list[float]]]:
    """Alternating rounds, the first one a warm-up; name -> (wall times, CPU times)."""
    names = list(commands)
    out: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
    for k in range(rounds + 1):
        shift = k % len(names)
        for name in names[shift:] + names[:shift]:
            cmd, extra = commands[name]
            wall, cpu = run_once(cmd, {**env, **extra}, cwd)
            if k:
                out[name][0].append(wall)
                out[name][1].append(cpu)
    return out


TARGETS = {"gkreport --version": 5.0, "gkreport check clean.xlsx": 12.0, "gkreport check errors.xlsx": 12.0}
# issue #16: a one-file check ≤ 12× and --version ≤ 5× ``python -c pass``


def table(results: dict[str, tuple[list[float], list[float]]], markdown: bool) -> str:
    base_wall, base_cpu = (statistics.median(x) for x in next(iter(results.values())))
    rows = [("case", "wall ms", "× pass", "CPU ms", "× pass (CPU)", "target")]
    for name, (walls, cpus) in results.items():
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        target = f"≤ {TARGETS[name]:g}×" if name in TARGETS else ""
        rows.append((name, f"{wall * 1e3:.0f}", f"{wall / base_wall:.1f}", f"{cpu * 1e3:.0f}",
                     f"{cpu / base_cpu:.1f}" if base_cpu else "-", target))
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in rows]
        lines.insert(1, "|" + "---|" * len(rows[0]))
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=21, help="counted rounds (one warm-up round is added)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--only", nargs="+", action="extend",
                    help="run only the cases whose name contains one of these (the baseline always runs)")
    ap.add_argument("--floors", action="store_true", help="also time importing the libraries alone (see FLOORS)")
    ap.add_argument("--before", type=Path, metavar="SRC",
                    help="also run every case with this source tree (its src/) first on PYTHONPATH")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-startup-") as tmp:
        work = Path(tmp)
        # The ribbon's launcher logs what it could not show (no Excel here) under HOME.
        env = {**os.environ, "HOME": str(work), "GKREPORT_LOG": str(work / "gkreport.log")}
        env.pop("PYTHONPROFILEIMPORTTIME", None)
        # As installed: pip compiles a wheel's modules, an editable install caches them on first
        # import. Without the caches every run would recompile gkreport (~0.1 s, not start-up).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = cases(work)
        if args.only:
            first = next(iter(commands))
            commands = {n: c for n, c in commands.items() if n == first or any(o in n for o in args.only)}
        runs = with_source(commands, args.before.resolve()) if args.before else {n: (c, {}) for n, c in commands.items()}
        if args.floors:  # the libraries alone: the same with any source tree
            clean = str(work / "clean.xlsx")
            runs.update({name: ([sys.executable, "-c", code, clean], {}) for name, code in FLOORS.items()})
        results = measure(runs, args.rounds, env, work)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load {load:.1f}, Python {sys.version.split()[0]}, "
          f"{args.rounds} alternating rounds, medians")
    print(table(results, args.markdown))


if __name__ == "__main__":
    main()
