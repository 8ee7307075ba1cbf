"""Findings: what a check says about one report, as plain data.

A finding names its rule (stable id from rules/*.json), severity, a concrete Chinese
message, the cells involved and the cell(s) most likely wrong (``suspects``) with a
``suggested`` value where one follows: for identities, only when the minimum-change
localisation (locate.py) determines that one cell and its value; when several
explanations are equally good the suspects are all their cells and nothing is suggested. ``id`` is a fingerprint of rule + cells +
report (agency, year, form) that does not depend on the message text or the file
name, so a person's decision on a finding can be kept across re-checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .forms import SEVERITY_ORDER


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    sheet: str | None = None
    cells: tuple[str, ...] = ()  # A1 addresses on ``sheet``
    cell_ids: tuple[str, ...] = ()
    suspects: tuple[str, ...] = ()  # A1 addresses of the most likely wrong cell(s)
    suspect_ids: tuple[str, ...] = ()
    expected: float | int | None = None
    actual: float | int | None = None
    suggested: float | int | None = None
    id: str = ""
    instance: str = field(default="", compare=False)
    origin: str = field(default="", compare=False)  # the rules-overlay file of the rule ("" = packaged)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.origin:
            del d["origin"]
        d["cells"] = list(self.cells)
        d["cell_ids"] = list(self.cell_ids)
        d["suspects"] = list(self.suspects)
        d["suspect_ids"] = list(self.suspect_ids)
        return d


def fingerprint(rule: str, cell_ids: Iterable[str], report_key: str, instance: str = "") -> str:
    """Stable id: the same problem in the same report keeps the same id."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update("\x1f".join([rule, instance, *sorted(cell_ids), report_key]).encode("utf-8"))
    return h.hexdigest()[:16]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.sheet or "", f.rule, f.cells))


def count_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    return out
