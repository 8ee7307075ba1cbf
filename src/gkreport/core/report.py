"""A report as read from any source: form, header, and one Value per data cell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .findings import Finding
from .forms import Form
from .values import BLANK, Value, parse_value


@dataclass
class Report:
    """Everything the engine needs about one agency's report; no file handles."""

    form: Form
    values: dict[str, Value]
    header: dict[str, object] = field(default_factory=dict)
    source: str = ""
    text: str | None = None  # the report's prose, for narrative checks (imported reports)
    read_findings: list[Finding] = field(default_factory=list)  # problems met while reading
    sheet_names: tuple[str, ...] = ()  # the source workbook's sheets (tells a summary from a report)

    @property
    def year(self) -> int | None:
        y = self.header.get("hdr.year")
        if isinstance(y, float) and y.is_integer():  # calamine returns numbers as floats
            y = int(y)
        try:
            return int(str(y).strip().removesuffix("年").removesuffix("年度")) if y not in (None, "") else None
        except ValueError:
            return None

    @property
    def agency(self) -> str | None:
        a = self.header.get("hdr.agency")
        return str(a).strip() if a not in (None, "") else None

    @property
    def key(self) -> str:
        """Identity for fingerprints: who, which year, which form (not the file name)."""
        return f"{self.agency or ''}|{self.year or ''}|{self.form.version}"

    def value(self, cell_id: str) -> Value:
        return self.values.get(cell_id, BLANK)

    def number(self, cell_id: str) -> float | int:
        return self.value(cell_id).arith


def report_from_raw(form: Form, raw: Mapping[str, object], header: Mapping[str, object] | None = None,
                    source: str = "", text: str | None = None) -> Report:
    """Build a Report from raw cell contents by id (numbers, text, None)."""
    values = {}
    for cid, cell in form.cells.items():
        values[cid] = parse_value(raw.get(cid), cell.type, cell.unit)
    return Report(form=form, values=values, header=dict(header or {}), source=source, text=text)
