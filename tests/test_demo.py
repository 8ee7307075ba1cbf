"""``gkreport demo``: the README's first command, end to end on the bundled samples."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from gkreport.commands.cli import main as cli_main
from gkreport.core.forms import load_form
from gkreport.core.resources import data_dir


def _by_name(wb: openpyxl.Workbook, name: str) -> object:
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")].value


def test_demo_writes_templates_marked_copies_and_a_county_summary(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert cli_main(["demo", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"gkreport-template-2021.xlsx", "gkreport-template-2019.xlsx", "pingtan-2023.checked.xlsx",
            "pingtan-2023-with-errors.checked.xlsx", "示例县-2023-汇总.xlsx"} <= names
    assert "未报送：某某县统计局" in text and "长兴街道办事处" in text
    # two agencies typed their name unlike the roster: one is the same agency, one only resembles it
    assert "名称与名单略有不同：杨中街道（0008-杨中街道办事处.xlsx）按名单中的 杨中街道办事处 计入" in text
    assert "待确认：东全镇人民政府（0007-东金镇人民政府.xlsx）名称不符，可能是名单中的 东金镇人民政府" in text
    assert "未报送：东金镇" not in text

    # The county total equals the sum of the 2021-form samples, read independently.
    county = data_dir("samples") / "示例县-2023"
    form = load_form("2021")
    books = [openpyxl.load_workbook(p) for p in sorted(county.glob("*.xlsx"))]
    books = [wb for wb in books if _by_name(wb, "hdr.form") == "2021"]
    assert len(books) == 8
    summary = openpyxl.load_workbook(out / "示例县-2023-汇总.xlsx")
    for cid in form.cells:
        assert _by_name(summary, cid) == sum(_by_name(wb, cid) or 0 for wb in books), cid
    status = [v for row in summary["报送情况"].iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert "某某县统计局" in status and "某某县审计局" in status
    # Running it again replaces its own output rather than failing.
    assert cli_main(["demo", "-o", str(out)]) == 0
