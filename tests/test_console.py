"""The console as a clerk meets it: marks that survive a GBK console, Chinese help with
examples and exit codes, Chinese argument errors, a final tally, ``-q`` showing problems only."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REAL_REPORTS, make_filled
from gkreport.commands.console import Progress, mark, tally


def gk(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "gkreport", *map(str, args)], capture_output=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean report, one with an error, one unreadable file, and three PDFs."""
    d = tmp_path_factory.mktemp("reports")
    form, header, values = REAL_REPORTS["pingtan-2023"]()
    make_filled(d, "good.xlsx", form, values, header)
    bad = dict(values)
    bad["t2.granted.person"] = (bad["t2.granted.person"] or 0) + 7
    make_filled(d, "bad.xlsx", form, bad, {**header, "hdr.agency": "某某局"})
    (d / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    for i in range(3):
        (d / f"scan{i}.pdf").write_bytes(b"%PDF-1.4")
    return d


def test_marks_fall_back_on_a_gbk_console() -> None:
    gbk = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert (mark("ok", gbk), mark("bad", gbk)) == ("√", "×")
    assert (mark("ok", utf8), mark("bad", utf8)) == ("✓", "✗")
    for kind in ("ok", "bad", "warn"):
        mark(kind, gbk).encode("gbk")  # always printable there


def test_check_on_a_gbk_console_tells_pass_from_fail(folder: Path) -> None:
    done = gk("check", folder / "good.xlsx", folder / "bad.xlsx", env={"PYTHONIOENCODING": "gbk"})
    out = done.stdout.decode("gbk")
    lines = [ln for ln in out.splitlines() if "｜" in ln and not ln.startswith(" ")]
    assert [ln[0] for ln in lines] == ["√", "×"], out
    assert "?" not in "".join(ln[0] for ln in lines)
    assert done.returncode == 1


def test_folder_run_ends_with_a_tally_and_one_line_for_skipped_files(folder: Path) -> None:
    done = gk("check", folder)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert out.strip().splitlines()[-1] == "共 3 份：通过 1，有错误 1，无法读取 1"
    skipped = [ln for ln in err.splitlines() if ln.startswith("跳过")]
    assert len(skipped) == 1 and skipped[0].startswith("跳过 3 个文件（scan0.pdf、scan1.pdf、scan2.pdf）"), err
    assert done.returncode == 2  # an unreadable file outranks findings


def test_quiet_prints_only_problems_and_the_tally(folder: Path) -> None:
    out = gk("check", folder, "-q").stdout.decode()
    assert "good.xlsx" not in out
    assert "bad.xlsx" in out and "broken.xlsx" in out
    assert "[错误]" not in out  # one line per problem file, not every finding
    assert out.strip().splitlines()[-1].startswith("共 3 份")


@pytest.mark.parametrize("command", ["check", "consolidate", "import", "template", "publish"])
def test_help_is_chinese_with_an_example_and_the_exit_codes(command: str) -> None:
    done = gk(command, "-h")
    text = done.stdout.decode()
    assert done.returncode == 0
    assert text.startswith("用法：") and "选项" in text and "显示本说明并退出" in text
    assert f"示例：\n  gkreport {command}" in text and "退出码" in text
    for english in ("usage:", "positional arguments", "options:", "show this help"):
        assert english not in text


def test_wrong_calls_are_explained_in_chinese() -> None:
    done = gk("template", "--form", "2020")
    err = done.stderr.decode()
    assert done.returncode == 2
    assert "“2020”不是可选的值" in err and "不是报告年度" in err and "invalid choice" not in err
    err = gk("check").stderr.decode()
    assert "缺少必需的参数：FILE" in err and "required" not in err
    err = gk("check", "x.xlsx", "--year", "二〇二三").stderr.decode()
    assert "不是整数" in err


def test_python_dash_m_and_version() -> None:
    done = gk("--version")
    assert done.returncode == 0 and done.stdout.decode().startswith("gkreport ")


def test_progress_line_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        p = Progress(3, "校验", stream=stream)
        for name in ("a", "b", "c"):
            p.step(name)
        p.clear()
    assert "校验 3/3" in tty.getvalue() and tty.getvalue().endswith("\r")
    assert pipe.getvalue() == ""
    assert tally(950, 40, 10) == "共 1000 份：通过 950，有错误 40，无法读取 10"
