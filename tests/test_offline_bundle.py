"""``gkreport addin offline-bundle``: everything a PC without network needs.

The layout and the 安装.bat are tested with a fake downloader (no network). The real
``pip download`` for Windows x64 runs only when the public index is reachable.
"""

from __future__ import annotations

import socket
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

import gkreport
from gkreport.xlam import AddinError
from gkreport.xlam.offline import (
    BAT_ENCODING,
    BAT_NAME,
    README_NAME,
    WINDOWS_EXTRAS,
    batch_file,
    build_offline_bundle,
)

DEPS = ("xlwings-0.37.8-py3-none-win_amd64.whl", "pywin32-311-cp311-cp311-win_amd64.whl",
        "openpyxl-3.1.5-py2.py3-none-any.whl", "tzdata-2025.2-py2.py3-none-any.whl")


class FakePip:
    """Records pip calls; 'downloads' by writing empty wheel files."""

    def __init__(self, deps: Sequence[str] = DEPS) -> None:
        self.calls: list[list[str]] = []
        self.deps = deps

    def __call__(self, cmd: Sequence[str]) -> int:
        cmd = list(cmd)
        self.calls.append(cmd)
        if cmd[3] == "wheel":
            dest = Path(cmd[cmd.index("--wheel-dir") + 1])
            _write_wheel(dest / f"gkreport-{gkreport.__version__}-py3-none-any.whl")
        else:
            dest = Path(cmd[cmd.index("--dest") + 1])
            for name in self.deps:
                _write_wheel(dest / name)
        return 0


class _FailDownload(FakePip):
    def __call__(self, cmd: Sequence[str]) -> int:
        return 1 if "download" in cmd else super().__call__(cmd)


def _write_wheel(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.txt", "")


def test_bundle_layout_and_pip_calls(tmp_path: Path) -> None:
    pip = FakePip()
    out = build_offline_bundle(tmp_path / "离线包", python_version="3.11", run=pip)
    names = sorted(p.name for p in (out / "wheels").iterdir())
    assert names[0].startswith("gkreport-") and len(names) == 1 + len(DEPS)
    assert (out / BAT_NAME).is_file() and (out / README_NAME).is_file()
    download = pip.calls[-1]
    assert download[1:4] == ["-m", "pip", "download"]
    for flag, value in (("--platform", "win_amd64"), ("--python-version", "3.11"), ("--implementation", "cp")):
        assert download[download.index(flag) + 1] == value
    assert "--only-binary=:all:" in download
    assert download[download.index("--dest") + 1] == str(out / "wheels")
    # The gkreport wheel itself is the requirement (its dependencies come with it) plus
    # the Windows-only ones pip cannot see from Linux (markers are evaluated locally).
    assert any(a.endswith(".whl") and "gkreport-" in a for a in download)
    assert set(WINDOWS_EXTRAS) <= set(download) and any(x.startswith("pywin32") for x in WINDOWS_EXTRAS)


def test_batch_file_installs_offline_for_this_user_and_puts_the_add_in_in_place(tmp_path: Path) -> None:
    out = build_offline_bundle(tmp_path / "b", python_version="3.11", run=FakePip())
    raw = (out / BAT_NAME).read_bytes()
    text = raw.decode(BAT_ENCODING)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    lines = text.split("\r\n")
    assert lines[0] == "@echo off"
    install = next(ln for ln in lines if "pip install" in ln)
    assert "--no-index" in install and "--user" in install and '--find-links "%~dp0wheels"' in install
    assert install.startswith("%PY% -m pip") and install.endswith(" gkreport")
    assert "%PY% -m gkreport addin install" in lines  # no dependency on Scripts\ being on PATH
    assert "py -3.11" in text and "(3, 11)" in text
    assert "python-*-amd64.exe" in text and "InstallAllUsers=0" in text
    assert text.count("exit /b 1") == 3  # each failure stops with a Chinese message
    assert "不需要管理员权限" in text and "runas" not in text.lower()
    # Every "(" block is closed (a stray parenthesis breaks cmd.exe's parser).
    assert sum(ln.rstrip().endswith("(") for ln in lines) == sum(ln.strip() == ")" for ln in lines)


def test_bundle_refuses_when_the_download_fails_or_is_incomplete(tmp_path: Path) -> None:
    with pytest.raises(AddinError, match="下载 Windows 版依赖包失败"):
        build_offline_bundle(tmp_path / "a", python_version="3.11", run=_FailDownload())
    with pytest.raises(AddinError, match="缺少：pywin32"):
        build_offline_bundle(tmp_path / "b", python_version="3.11",
                             run=FakePip(deps=("xlwings-0.37.8-py3-none-any.whl",)))
    with pytest.raises(AddinError, match=r"3\.11 这样的形式"):
        build_offline_bundle(tmp_path / "c", python_version="311", run=FakePip())


def test_a_given_wheel_is_used(tmp_path: Path) -> None:
    wheel = tmp_path / f"gkreport-{gkreport.__version__}-py3-none-any.whl"
    _write_wheel(wheel)
    pip = FakePip()
    out = build_offline_bundle(tmp_path / "b", python_version="3.12", wheel=wheel, run=pip)
    assert len(pip.calls) == 1  # no pip wheel: only the download
    assert (out / "wheels" / wheel.name).is_file()
    assert "py -3.12" in batch_file("3.12")


def test_cli_reports_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from gkreport.commands.cli import main
    from gkreport.xlam import offline

    monkeypatch.setattr(offline, "_run", FakePip())
    assert main(["addin", "offline-bundle", "-o", str(tmp_path / "包"), "--python-version", "3.11"]) == 0
    assert "已生成离线安装包" in capsys.readouterr().out
    monkeypatch.setattr(offline, "_run", _FailDownload())
    assert main(["addin", "offline-bundle", "-o", str(tmp_path / "包2"), "--python-version", "3.11"]) == 2
    assert "错误：下载 Windows 版依赖包失败" in capsys.readouterr().err


def _index_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _index_reachable(), reason="no network: the real pip download is not run")
def test_real_download_for_windows(tmp_path: Path) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    out = build_offline_bundle(tmp_path / "real", python_version=version)
    names = [p.name.lower() for p in (out / "wheels").glob("*.whl")]
    assert any(n.startswith("pywin32-") and "win_amd64" in n for n in names)
    assert any(n.startswith("xlwings-") for n in names)
