"""StyleMemo (output/template_style.py) gives each cell the format that assigning the styles
one by one gives it: the template and the summary's headers are the same with it as without."""

from __future__ import annotations

from typing import Any

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

from gkreport.output.template_style import StyleMemo

STYLES: dict[str, dict[str, Any]] = {
    "head": {"font": Font(bold=True), "fill": PatternFill("solid", fgColor="D9D9D9"),
             "alignment": Alignment(horizontal="center", wrap_text=True)},
    "input": {"border": Border(left=Side("thin"), right=Side("thin")), "fill": PatternFill("solid", fgColor="FFF2CC"),
              "protection": Protection(locked=False)},
    "total": {"font": Font(name="宋体", size=10, bold=True), "number_format": "General", "fill": None},
    "nothing": {"fill": None},
}
CELLS = ["A1", "A2", "B1", "C3", "D4"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CELLS), st.sampled_from(sorted(STYLES))), max_size=25))
def test_memo_gives_the_formats_assignment_gives(steps: list[tuple[str, str]]) -> None:
    direct, memoed = openpyxl.Workbook(), openpyxl.Workbook()
    memo = StyleMemo()
    for ref, key in steps:
        for name, value in STYLES[key].items():
            if value is not None:
                setattr(direct.active[ref], name, value)
        memo.apply(memoed.active[ref], key, **STYLES[key])
    for ref in CELLS:
        a, b = direct.active[ref], memoed.active[ref]
        assert [repr(x) for x in (a.font, a.fill, a.border, a.alignment, a.protection, a.number_format)] == \
               [repr(x) for x in (b.font, b.fill, b.border, b.alignment, b.protection, b.number_format)]
        assert list(a._style or [0] * 9) == list(b._style or [0] * 9)  # the same format indices
