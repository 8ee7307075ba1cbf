"""Shared formulas: written once per group, read back by openpyxl as each cell's own formula."""

from __future__ import annotations

import io

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

from gkreport.core import addresses as addr
from gkreport.output.shared_formulas import SharedFormula, share

# A few formula shapes: the same shape at two cells is the same formula moved; "$" parts never move.
_SHAPES = ("=A{r}+1", "=SUM(B{r}:C{r})*2", '=IF(ISTEXT(D{r}),"x",$A$1)', "=E{r}-F{r}", "=$A{r}*B$3",
           # parts a copy never moves, or that this module leaves unshared: literals that look
           # like addresses, quoted and unquoted sheet names, whole rows, lowercase, numbers
           '="B5"&A{r}', "='S h'!B{r}*2", "=Sheet1!B{r}", "=SUM({r}:{r})+A{r}", "=b{r}+1", "=LOG10(C{r})+1e-9",
           '=SUMPRODUCT(--EXACT(A{r},{{"A1","B"}}))')


@st.composite
def sheets(draw: st.DrawFn) -> list[tuple[str, str]]:
    refs = draw(st.sets(st.tuples(st.integers(2, 12), st.integers(10, 30)), min_size=1, max_size=40))
    out = []
    for col, row in refs:
        shape = draw(st.sampled_from(_SHAPES))
        shift = draw(st.sampled_from((0, 0, 0, 1)))  # now and then a formula that is not the moved copy
        out.append((addr.make_ref(col, row), shape.format(r=row + shift)))
    return out


@settings(max_examples=60, deadline=None)
@given(cells=sheets())
def test_shared_groups_read_back_as_each_cells_formula(cells: list[tuple[str, str]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    values = share(cells)
    for ref, value in values:
        ws[ref] = value
    masters = {v.si: (ref, v) for ref, v in values if isinstance(v, SharedFormula) and v.text}
    for ref, v in values:
        if isinstance(v, SharedFormula):
            master_ref, master = masters[v.si]
            c1, r1, c2, r2 = range_boundaries(master.ref)
            row, col = coordinate_to_tuple(ref)
            assert (c1, r1) == tuple(reversed(coordinate_to_tuple(master_ref)))  # the group's first cell is top-left
            assert c1 <= col <= c2 and r1 <= row <= r2
    buf = io.BytesIO()
    wb.save(buf)
    back = openpyxl.load_workbook(buf).active
    assert {c.coordinate: c.value for row in back.iter_rows() for c in row if c.value is not None} == dict(cells)


def test_a_band_of_equal_moved_formulas_is_one_group() -> None:
    cells = [(addr.make_ref(c, r), f"=LEN({addr.make_ref(c, r + 20)})") for r in range(5, 9) for c in range(2, 5)]
    values = dict(share(cells))
    assert isinstance(values["B5"], SharedFormula) and values["B5"].ref == "B5:D8" and values["B5"].text
    assert all(isinstance(v, SharedFormula) and v.si == 0 and v.text is None for k, v in values.items() if k != "B5")
