"""Marking findings in a workbook, written once against a small interface.

The same logic marks an openpyxl copy (``check --mark``) and the user's open workbook
through xlwings (the ribbon's 校验 button). A marker only has to read and write one
cell's look, keep a small hidden state sheet, and write the results sheet.

Marks are reversible: before the first mark on a cell the marker's snapshot of the
cell (fill, border, note) is saved in a very hidden sheet; clearing restores every
snapshot and removes the results sheet, so checking again never piles marks up and
never loses a fill or a note the user had. Values are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gkreport.core.findings import Finding, sort_findings
from gkreport.core.forms import SEVERITY_LABEL, SEVERITY_ORDER, available_forms, load_form

RESULTS_SHEET = "校验结果"
STATE_SHEET = "_gkreport_marks"
NOTE_TAG = "【gkreport 校验】"
FILL = {"error": "FFC7CE", "warning": "FFEB9C"}
# The columns' places are read back by the ribbon (严重程度, 工作表, 单元格, 说明); 编号 is
# the finding's fingerprint, kept last (hidden) for scripts that track a finding across checks.
RESULT_HEADERS = ("序号", "严重程度", "工作表", "单元格", "规则", "说明", "建议值", "编号")


class MarkTarget(Protocol):
    """What a workbook adapter provides to be marked."""

    def has_sheet(self, name: str) -> bool: ...
    def snapshot(self, sheet: str, ref: str) -> str: ...
    def restore(self, sheet: str, ref: str, snap: str) -> None: ...
    def mark(self, sheet: str, ref: str, fill: str, thick: bool, note: str) -> None: ...
    def read_state(self) -> list[tuple[str, str, str]]: ...
    def write_state(self, rows: Sequence[tuple[str, str, str]]) -> None: ...
    def delete_sheet(self, name: str) -> None: ...
    def write_results(self, rows: Sequence[Sequence[object]], links: Sequence[tuple[str, str] | None]) -> None: ...


@dataclass(frozen=True)
class CellMark:
    sheet: str
    ref: str
    severity: str
    thick: bool
    notes: tuple[str, ...]


def plan_marks(findings: Iterable[Finding]) -> list[CellMark]:
    """Which cells get which mark: the blamed cells of every error/warning finding.

    Blamed = the suspects when the checker could name them, otherwise every cell of
    the finding. A determined suspect (one cell, with a suggested value) gets the
    thicker mark. Info findings are listed in the results sheet but not painted.
    """
    acc: dict[tuple[str, str], dict[str, object]] = {}
    for f in findings:
        if f.severity not in FILL or not f.sheet:
            continue
        blamed = f.suspects or f.cells
        for ref in blamed:
            key = (f.sheet, ref)
            m = acc.setdefault(key, {"severity": f.severity, "thick": False, "notes": []})
            if SEVERITY_ORDER[f.severity] < SEVERITY_ORDER[str(m["severity"])]:
                m["severity"] = f.severity
            if f.suggested is not None and len(f.suspects) == 1:
                m["thick"] = True
            notes = m["notes"]
            assert isinstance(notes, list)
            if f.message not in notes:
                notes.append(f.message)
    return [CellMark(s, r, str(m["severity"]), bool(m["thick"]), tuple(m["notes"]))  # type: ignore[arg-type]
            for (s, r), m in acc.items()]


def clear_marks(target: MarkTarget) -> int:
    """Undo every mark this tool made; returns how many cells were restored."""
    restored = 0
    if target.has_sheet(STATE_SHEET):
        for sheet, ref, snap in target.read_state():
            if not target.has_sheet(sheet):
                continue
            try:
                target.restore(sheet, ref, snap)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                continue  # a row the clerk edited into nonsense (a bad cell address): nothing to restore
            restored += 1
        target.delete_sheet(STATE_SHEET)
    if target.has_sheet(RESULTS_SHEET):
        target.delete_sheet(RESULTS_SHEET)
    return restored


def apply_marks(target: MarkTarget, findings: Sequence[Finding]) -> int:
    """Clear old marks, then mark ``findings`` and write the results sheet."""
    clear_marks(target)
    findings = sort_findings(findings)
    marks = plan_marks(findings)
    state = []
    for m in marks:
        if not target.has_sheet(m.sheet):
            continue
        state.append((m.sheet, m.ref, target.snapshot(m.sheet, m.ref)))
    if state:
        target.write_state(state)
    for m in marks:
        if not target.has_sheet(m.sheet):
            continue
        note = NOTE_TAG + "\n" + "\n".join(f"• {n}" for n in m.notes)
        target.mark(m.sheet, m.ref, FILL[m.severity], m.thick, note)
    rows, links = results_rows(findings)
    target.write_results(rows, links)
    return len(marks)


def results_rows(findings: Sequence[Finding]) -> tuple[list[list[object]], list[tuple[str, str] | None]]:
    """Rows of the 校验结果 sheet (header first) and the cell each row links to."""
    rows: list[list[object]] = [list(RESULT_HEADERS)]
    links: list[tuple[str, str] | None] = [None]
    if not findings:
        rows.append(["", "", "", "", "", "未发现问题：表内合计与勾稽关系均平衡。", "", ""])
        links.append(None)
    for i, f in enumerate(findings, 1):
        where = (f.suspects or f.cells or ("",))[0]
        rows.append([
            i, SEVERITY_LABEL.get(f.severity, f.severity), f.sheet or "", where, rule_title(f.rule), f.message,
            "" if f.suggested is None else f.suggested, f.id,
        ])
        links.append((f.sheet, where) if f.sheet and where else None)
    return rows, links


def rule_title(rule_id: str) -> str:
    """The Chinese title a clerk reads for a rule id (``T2-result-total`` → ``（七）总计＝各项办理结果之和``);
    ids no form defines (internal, reading problems) are shown as they are."""
    for version in available_forms():
        rule = next((r for r in load_form(version).rules if r.id == rule_id), None)
        if rule is not None:
            return rule.title
    return rule_id


def encode_snapshot(data: dict[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode_snapshot(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
