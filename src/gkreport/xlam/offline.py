"""An offline installer folder for PCs that cannot reach a package index (政务内网).

``gkreport addin offline-bundle -o DIR`` (run on any PC with network) writes::

    DIR/wheels/*.whl   gkreport and every dependency, as Windows x64 wheels
    DIR/安装.bat        installs them for the current user (no admin, no network) and
                        puts the add-in in place (python -m gkreport addin install)
    DIR/说明.txt        what to copy and what to click

Copy the folder to the target PC (U 盘) and double-click 安装.bat. A Python installer
(``python-3.x.y-amd64.exe`` from python.org) dropped into the folder is run first when
no suitable Python is found.

Wheels come from ``pip download --only-binary=:all: --platform win_amd64
--python-version X.Y``. pip evaluates environment markers against the machine it runs
on, not the target, so the Windows-only dependencies (``pywin32`` for xlwings,
``tzdata`` for pandas) are named explicitly.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import gkreport
from gkreport.xlam import AddinError

__all__ = ["WINDOWS_EXTRAS", "batch_file", "build_offline_bundle", "pip_download_command"]

PLATFORM = "win_amd64"
# Windows-only requirements pip cannot see from a non-Windows machine (markers).
WINDOWS_EXTRAS = ("pywin32>=224", "tzdata")
BAT_NAME = "安装.bat"
README_NAME = "说明.txt"
WHEELS = "wheels"
BAT_ENCODING = "gbk"  # cmd.exe reads .bat files in the OEM code page (936 on Chinese Windows)

Runner = Callable[[Sequence[str]], int]


def _run(cmd: Sequence[str]) -> int:
    return subprocess.run(list(cmd), check=False).returncode


def pip_download_command(requirements: Sequence[str], dest: Path, python_version: str) -> list[str]:
    """The ``pip download`` call fetching Windows x64 wheels for ``python_version``."""
    return [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
        "--only-binary=:all:", "--platform", PLATFORM, "--implementation", "cp",
        "--python-version", python_version, "--dest", str(dest), *requirements,
    ]


def _source_root() -> Path | None:
    """The source checkout gkreport runs from, if any (it can build its own wheel)."""
    root = Path(gkreport.__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "gkreport").is_dir() else None


def _gkreport_wheel(dest: Path, wheel: Path | None, run: Runner) -> list[str]:
    """Put the gkreport wheel in ``dest``; return the requirement that names it for pip."""
    if wheel is not None:
        if not wheel.is_file() or wheel.suffix != ".whl":
            raise AddinError(f"不是 wheel 文件：{wheel}")
        target = dest / wheel.name
        target.write_bytes(wheel.read_bytes())
        return [str(target)]
    root = _source_root()
    if root is not None:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
               "--wheel-dir", str(dest), str(root)]
        if run(cmd) != 0:
            raise AddinError("无法从源码生成 gkreport 的 wheel（pip wheel 失败），请检查网络或用 --wheel 指定")
        built = sorted(dest.glob("gkreport-*.whl"))
        if not built:
            raise AddinError("pip wheel 没有生成 gkreport 的 wheel 文件")
        return [str(built[-1])]
    return [f"gkreport=={gkreport.__version__}"]  # an installed release: fetch the same one


def batch_file(python_version: str) -> str:
    """安装.bat: install the wheels for this user without network, then the add-in."""
    return "\r\n".join([
        "@echo off",
        "setlocal",
        'cd /d "%~dp0"',
        f"rem gkreport {gkreport.__version__} offline installer for Python {python_version} (64-bit)",
        'set "PY="',
        f'py -{python_version} -c "import sys" >nul 2>nul && set "PY=py -{python_version}"',
        f'if not defined PY python -c "import sys; sys.exit(sys.version_info[:2] != ({python_version.replace(".", ", ")}))" >nul 2>nul && set "PY=python"',
        "if not defined PY (",
        '  for %%F in ("%~dp0python-*-amd64.exe") do (',
        f"    echo 正在安装 Python {python_version}（仅当前用户，不需要管理员权限）……",
        '    "%%~fF" /passive InstallAllUsers=0 PrependPath=1 Include_launcher=1',
        f'    py -{python_version} -c "import sys" >nul 2>nul && set "PY=py -{python_version}"',
        "  )",
        ")",
        "if not defined PY (",
        f"  echo 没有找到 Python {python_version}（64 位）。",
        f"  echo 请先安装 Python {python_version}（64 位），或把 python.org 的 python-{python_version}.x-amd64.exe 放进本文件夹后重新运行。",
        "  pause",
        "  exit /b 1",
        ")",
        "echo 正在安装 gkreport（不联网，仅当前用户）……",
        f'%PY% -m pip install --user --no-index --find-links "%~dp0{WHEELS}" --disable-pip-version-check gkreport',
        "if errorlevel 1 (",
        "  echo 安装 gkreport 失败。请把本窗口的内容截图发给技术支持人员。",
        "  pause",
        "  exit /b 1",
        ")",
        "echo 正在安装 Excel 加载项……",
        "%PY% -m gkreport addin install",
        "if errorlevel 1 (",
        "  echo 安装加载项失败（请先关闭 Excel 再运行本文件）。",
        "  pause",
        "  exit /b 1",
        ")",
        "echo.",
        "echo 完成。请重新启动 Excel，功能区上会出现“政务公开年报”选项卡。",
        "pause",
        "",
    ])


def _readme(python_version: str) -> str:
    return "\r\n".join([
        f"gkreport {gkreport.__version__} 离线安装包（Windows 64 位，Python {python_version}）",
        "",
        "1. 把整个文件夹复制到要安装的电脑上（U 盘、内网共享均可）。",
        f"2. 该电脑需要 Python {python_version}（64 位）。没有时，把 python.org 下载的",
        f"   python-{python_version}.x-amd64.exe 放进本文件夹，安装程序会先装它（仅当前用户）。",
        f"3. 关闭 Excel，双击“{BAT_NAME}”。全程不联网，不需要管理员权限。",
        "4. 重新启动 Excel，功能区出现“政务公开年报”选项卡。",
        "",
        "若安全软件拦截“Excel 启动 pythonw.exe”，请让管理员把 Python 安装目录中的 pythonw.exe 加入信任。",
        "",
    ])


def build_offline_bundle(out_dir: Path, python_version: str | None = None, wheel: Path | None = None,
                         run: Runner | None = None) -> Path:
    """Write the offline installer folder ``out_dir``; return it.

    ``run`` executes a pip command and returns its exit code (tests pass a fake that
    writes wheel files instead of downloading).
    """
    run = run or _run
    python_version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    if not python_version.replace(".", "").isdigit() or python_version.count(".") != 1:
        raise AddinError(f"Python 版本应写成 3.11 这样的形式：{python_version}")
    out_dir = Path(out_dir)
    wheels = out_dir / WHEELS
    wheels.mkdir(parents=True, exist_ok=True)
    requirement = _gkreport_wheel(wheels, wheel, run)
    cmd = pip_download_command([*requirement, *WINDOWS_EXTRAS], wheels, python_version)
    if run(cmd) != 0:
        raise AddinError(
            f"下载 Windows 版依赖包失败（pip download，Python {python_version}）。"
            "请在能访问软件包索引的电脑上运行，或检查 pip 的镜像设置。"
        )
    names = [p.name.lower() for p in wheels.glob("*.whl")]
    missing = [n for n in ("gkreport", "xlwings", "pywin32") if not any(x.startswith(n + "-") for x in names)]
    if missing:
        raise AddinError("离线安装包缺少：" + "、".join(missing))
    (out_dir / BAT_NAME).write_bytes(batch_file(python_version).encode(BAT_ENCODING))
    (out_dir / README_NAME).write_bytes(_readme(python_version).encode("utf-8-sig"))
    return out_dir
