"""Same findings before and after a change to localisation's bounds, on every problem a run produces.

``python benchmarks/locate_calibration.py record DIR -- COMMAND...`` runs COMMAND (the test
suite, ``benchmarks/robustness.py``, ``benchmarks/locate.py`` …) with a ``sitecustomize``
that pickles every distinct localisation problem (``locate.locate``'s input, when some
identity fails) into DIR, in the test process and in every subprocess it starts.

``python benchmarks/locate_calibration.py replay DIR OUT.json [--no-clock] [--resume] [--bounds K=V …]`` solves each
recorded problem with the gkreport on ``sys.path`` (run it with ``PYTHONPATH=<old>/src``
for the code before the change) and writes every verdict (:class:`gkreport.core.locate.Blame`
as JSON), the branch-and-bound nodes, solves and seconds it took. ``--no-clock`` lifts
every wall-clock limit (the code before this change decided by time: this is what it
gives on an idle machine).

``python benchmarks/locate_calibration.py compare BEFORE.json AFTER.json`` counts the
problems whose verdicts are identical and prints the others.

The verdicts are all that localisation hands the engine, and the engine turns them into
messages without looking at anything else: identical verdicts mean identical findings.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HOOK = '''"""Calibration recorder (benchmarks/locate_calibration.py): pickles localisation problems."""
import os

_dir = os.environ.get("GK_CALIB_DIR")
if _dir:
    try:
        import hashlib
        import pickle

        from gkreport.core import locate as _loc

        _orig = _loc.locate
        _forms = {}

        def _save(path, data):
            if not os.path.exists(path):
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)

        def _rec(evaluated, form, values, config=None):
            out = _orig(evaluated, form, values, config)
            try:
                if out:
                    fid = _forms.get(id(form))
                    if fid is None:
                        fb = pickle.dumps(form)
                        fid = _forms[id(form)] = hashlib.sha1(fb).hexdigest()[:16]
                        _save(os.path.join(_dir, "forms", fid + ".pkl"), fb)
                    cfg = None if config is None else {k: getattr(config, k) for k in config.__dataclass_fields__}
                    body = pickle.dumps((fid, list(evaluated), dict(values), cfg))
                    _save(os.path.join(_dir, "problems", hashlib.sha1(body).hexdigest()[:20] + ".pkl"), body)
            except Exception as e:  # recording never changes the run
                with open(os.path.join(_dir, "errors.log"), "a") as fh:
                    fh.write(repr(e) + "\\n")
            return out

        _loc.locate = _rec
    except Exception:
        pass
'''


def record(folder: Path, command: list[str]) -> int:
    """Run ``command`` with the recorder active; returns its exit code."""
    for sub in ("hook", "forms", "problems"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "hook" / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    env = {**os.environ, "GK_CALIB_DIR": str(folder.resolve()),
           "PYTHONPATH": os.pathsep.join(p for p in (str((folder / "hook").resolve()),
                                                     os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.call(command, env=env)


def _verdict(blame: Any) -> dict[str, Any]:
    return {"suspects": list(blame.suspects), "errors": dict(blame.errors), "determined": blame.determined,
            "alternatives": [[dict(e.changes), e.cost] for e in blame.alternatives],
            "complete": blame.complete, "stopped": getattr(blame, "stopped", "")}


def replay(folder: Path, out: Path, no_clock: bool, resume: bool = False, prefixes: str = "",
           skip: set[str] | None = None, bounds: dict[str, float] | None = None) -> None:
    """Solve every recorded problem with the gkreport on ``sys.path``; write the verdicts
    (with ``resume``, only those not already in ``out``, added to it). ``bounds`` replaces
    fields of each problem's ``locate_bounds.Bounds``."""
    import dataclasses
    import functools
    import inspect

    from gkreport.core import locate as loc
    from gkreport.core import locate_milp

    nodes = [0]
    real_run = locate_milp._Problem.run

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:  # each HiGHS solve, through scipy or highspy
        out = real_run(self, *args, **kwargs)
        nodes[0] += self.nodes
        return out

    locate_milp._Problem.run = counting  # type: ignore[method-assign]
    if no_clock and "time_limit" in inspect.signature(locate_milp.solve).parameters:
        # the code before this change: lift its per-solve clock (the per-report one below)
        loc.solve = functools.partial(locate_milp.solve, time_limit=1e9)  # type: ignore[assignment]
    forms: dict[str, Any] = {}
    results: dict[str, Any] = {"gkreport": loc.__file__, "problems": {}}
    if resume and out.exists():
        results = json.loads(out.read_text(encoding="utf-8"))
    for path in sorted((folder / "problems").glob("*.pkl")):
        if path.stem in results["problems"] or (prefixes and path.stem[0] not in prefixes) or path.stem in (skip or ()):
            continue
        fid, evaluated, values, cfg = pickle.loads(path.read_bytes())
        if fid not in forms:
            forms[fid] = pickle.loads((folder / "forms" / f"{fid}.pkl").read_bytes())
        form = forms[fid]
        fields = loc.Config.__dataclass_fields__
        config = loc.Config(**{k: v for k, v in cfg.items() if k in fields}) if cfg else loc.Config.of(form)
        if no_clock and "seconds" in fields:
            config = loc.Config(**{**{k: getattr(config, k) for k in fields}, "seconds": 1e9})
        if bounds:  # other limits than those recorded (tight ones reach the node limits)
            config = dataclasses.replace(config, bounds=dataclasses.replace(config.bounds, **bounds))
        nodes[0] = 0
        started = time.process_time()
        blames = loc.locate(evaluated, form, values, config)
        spent = time.process_time() - started
        results["problems"][path.stem] = {
            "cpu_seconds": round(spent, 3), "nodes": nodes[0],
            "failing": sum(1 for e in evaluated if e.failing),
            "verdicts": {str(i): _verdict(b) for i, b in sorted(blames.items())}}
        print(f"{path.stem} {spent:7.3f} s {nodes[0]:6d} nodes", flush=True)
        if len(results["problems"]) % 50 == 0:  # a long replay can be resumed
            out.write_text(json.dumps(results, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")


def compare(before: Path, after: Path) -> int:
    """Identical verdicts per problem; prints the differing problems. Exit 1 if any differ."""
    a = json.loads(before.read_text(encoding="utf-8"))["problems"]
    b = json.loads(after.read_text(encoding="utf-8"))["problems"]
    same, differ = 0, []
    for key in sorted(a.keys() & b.keys()):
        if a[key]["verdicts"] == b[key]["verdicts"]:
            same += 1
        else:
            differ.append(key)
    cpu_a = [p["cpu_seconds"] for p in a.values()]
    cpu_b = [p["cpu_seconds"] for p in b.values()]
    print(f"{len(a.keys() & b.keys())} problems in both; identical verdicts: {same}; different: {len(differ)}")
    print(f"CPU seconds per problem: before max {max(cpu_a, default=0):.3f}, after max {max(cpu_b, default=0):.3f}")
    print(f"nodes per problem: before max {max((p['nodes'] for p in a.values()), default=0)}, "
          f"after max {max((p['nodes'] for p in b.values()), default=0)}")
    for key in differ:
        print(f"\n{key}: failing identities {a[key]['failing']}, before {a[key]['cpu_seconds']} s "
              f"{a[key]['nodes']} nodes, after {b[key]['cpu_seconds']} s {b[key]['nodes']} nodes")
        for i in sorted(a[key]["verdicts"].keys() | b[key]["verdicts"].keys(), key=int):
            va, vb = a[key]["verdicts"].get(i), b[key]["verdicts"].get(i)
            if va != vb:
                print(f"  identity {i}:\n    before {json.dumps(va, ensure_ascii=False)[:300]}"
                      f"\n    after  {json.dumps(vb, ensure_ascii=False)[:300]}")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("record")
    p.add_argument("folder", type=Path)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("replay")
    p.add_argument("folder", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--no-clock", action="store_true")
    p.add_argument("--resume", action="store_true", help="only the problems not yet in OUT")
    p.add_argument("--prefixes", default="", help="only problems whose name starts with one of these (parallel runs)")
    p.add_argument("--skip-stopped", type=Path, help="skip the problems a bound stopped in this replay's output")
    p.add_argument("--bounds", nargs="*", default=[], metavar="KEY=VALUE",
                   help="replace localisation bounds, e.g. nodes=2 report_nodes=5 max_cost=1e9")
    p = sub.add_parser("compare")
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "record":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return record(args.folder, command)
    if args.cmd == "replay":
        skip = None
        if args.skip_stopped:
            done = json.loads(args.skip_stopped.read_text(encoding="utf-8"))["problems"]
            skip = {k for k, p in done.items() if any(v["stopped"] for v in p["verdicts"].values())}
        bounds = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (b.split("=", 1) for b in args.bounds)}
        replay(args.folder, args.out, args.no_clock, args.resume, args.prefixes, skip, bounds)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
