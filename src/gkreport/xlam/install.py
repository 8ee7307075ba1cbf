"""Install the built add-in into the local Excel (Windows, macOS).

Where and how, following what ``xlwings addin install`` does for custom
add-ins (``xlwings/cli.py``), but without needing a running Excel:

* Windows: copy into Excel's per-user startup folder
  ``%APPDATA%\\Microsoft\\Excel\\XLSTART`` (``Application.StartupPath``),
  which Excel loads at every start; the ``AddIns`` folder would also need
  the user to tick the add-in in the Add-ins dialog.
* macOS: copy into ``~/Library/Group Containers/UBF8T346G9.Office/User
  Content/Startup/Excel`` and, as ``xlwings runpython install`` does, put
  xlwings' AppleScript into ``~/Library/Application Scripts/com.microsoft.Excel``.

Then write the add-in's user config file, which the xlwings VBA module reads
(``GetConfigFilePath`` with ``PROJECT_NAME = "gkreport"``): on Windows
``%USERPROFILE%\\.gkreport\\gkreport.conf``, on macOS (sandboxed Excel)
``~/Library/Containers/com.microsoft.Excel/Data/gkreport.conf``.  It holds
``Interpreter_Win``/``Interpreter_Mac`` = this Python, so the add-in's launcher runs
the interpreter that has ``gkreport`` installed.  The file uses VBA's
``Write #`` format (``"KEY","value"`` lines, no trailing blank line: xlwings
#2174), in the ANSI code page on Windows because VBA's ``Input #`` reads it so.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import xlwings

import gkreport
from gkreport.output.outputs import OutputError, atomic_write, atomic_write_bytes
from gkreport.xlam import AddinError
from gkreport.xlam.build import ADDIN_NAME

__all__ = [
    "check_version",
    "config_file_path",
    "config_text",
    "default_addin_dir",
    "install_addin",
    "is_store_python",
]

_MAC_STARTUP = "Library/Group Containers/UBF8T346G9.Office/User Content/Startup/Excel"
_MAC_SCRIPTS = "Library/Application Scripts/com.microsoft.Excel"
_MAC_EXCEL_HOME = "Library/Containers/com.microsoft.Excel/Data"

# VBA's Input # reads the config file in the ANSI code page ("mbcs" in Python).
_ANSI_ENCODING = "mbcs"

_LINUX_MESSAGE = (
    "本机没有 Microsoft Excel（{platform}），无法安装加载项；"
    "请把 dist/gkreport.xlam 复制到装有 Excel 的 Windows 电脑，"
    "在那台电脑上安装 gkreport 后运行安装命令。"
)


def _platform() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "mac"
    raise AddinError(
        _LINUX_MESSAGE.format(platform="Linux" if sys.platform.startswith("linux") else sys.platform)
    )


def default_addin_dir() -> Path:
    """Excel's per-user startup folder on this machine."""
    if _platform() == "windows":
        appdata = os.environ.get("APPDATA")
        if not appdata:
            raise AddinError("找不到 APPDATA 环境变量，无法确定 Excel 启动文件夹")
        return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
    return Path.home() / _MAC_STARTUP


def config_file_path() -> Path:
    """The user config file the add-in's xlwings VBA module reads."""
    if _platform() == "windows":
        profile = os.environ.get("USERPROFILE") or str(Path.home())
        return Path(profile) / f".{ADDIN_NAME}" / f"{ADDIN_NAME}.conf"
    return Path.home() / _MAC_EXCEL_HOME / f"{ADDIN_NAME}.conf"


def config_text(interpreter: str, windows: bool, pythonpath: str = "") -> str:
    """Config file content in VBA ``Write #`` format (CRLF, no trailing blank line)."""
    key = "Interpreter_Win" if windows else "Interpreter_Mac"
    rows = [(key, interpreter)]
    if pythonpath:
        rows.append(("PYTHONPATH", pythonpath))
    for _, value in rows:
        if '"' in value:
            raise AddinError(f"路径中不能含有英文双引号：{value}")
    return "".join(f'"{name}","{value}"\r\n' for name, value in rows)


def _package_root() -> str:
    """The directory to put on PYTHONPATH so ``import gkreport`` works.

    Needed only when gkreport runs from a source checkout; for an installed
    package it is site-packages, which is already on the path.
    """
    return str(Path(gkreport.__file__).resolve().parent.parent)


def _write_config(path: Path, text: str, encoding: str) -> None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise AddinError(
            f"Python 路径含有本机代码页无法表示的字符：{sys.executable}；"
            "请把 Python 装到只含英文字符的文件夹后重试"
        ) from exc
    atomic_write_bytes(path, data)


def is_store_python(executable: str | None = None) -> bool:
    """True for the Microsoft Store Python, whose writes to %APPDATA% are redirected.

    Its files live under ``...\\WindowsApps\\PythonSoftwareFoundation.Python...``; a copy
    it makes into ``%APPDATA%\\Microsoft\\Excel\\XLSTART`` lands in its private
    ``LocalCache`` folder instead, where Excel never looks.
    """
    text = (executable or sys.executable).replace("/", "\\").lower()
    return "\\windowsapps\\" in text or "pythonsoftwarefoundation.python" in text


def store_python_folder() -> Path:
    """Where the add-in goes for a Store Python: the user profile is not redirected."""
    profile = os.environ.get("USERPROFILE") or str(Path.home())
    return Path(profile) / f".{ADDIN_NAME}"


def check_version(xlam: Path) -> None:
    """Refuse an add-in built by another gkreport version (an upgrade left it behind)."""
    from gkreport.xlam.build import built_version

    found = built_version(xlam)
    if found != gkreport.__version__:
        raise AddinError(
            f"加载项文件 {xlam} 由 gkreport {found or '未知版本'} 生成，"
            f"与当前的 gkreport {gkreport.__version__} 不一致；"
            "请去掉 --xlam 参数重新运行安装命令（会自动生成当前版本的加载项）"
        )


def install_addin(xlam: Path, target_dir: Path | None = None) -> Path:
    """Copy ``xlam`` into Excel's startup folder and point it at this Python.

    Returns the installed add-in path.  Raises :class:`AddinError` with a
    Chinese message on Linux (no Excel), when the add-in was built by another
    gkreport version, or when the copy fails (Excel open).  With the Microsoft
    Store Python (``%APPDATA%`` redirected) the add-in is put in
    ``%USERPROFILE%\\.gkreport`` instead; the caller tells the user to add it
    through Excel's 加载项 dialog (:func:`is_store_python`).
    """
    platform = _platform()
    xlam = Path(xlam)
    if not xlam.is_file():
        raise AddinError(f"找不到加载项文件：{xlam}；请先生成 gkreport.xlam")
    check_version(xlam)
    if target_dir is not None:
        target = Path(target_dir)
    elif platform == "windows" and is_store_python():
        target = store_python_folder()
    else:
        target = default_addin_dir()
    destination = target / f"{ADDIN_NAME}.xlam"
    try:
        target.mkdir(parents=True, exist_ok=True)
        try:  # atomic: Excel never loads a half-copied add-in
            atomic_write(destination, lambda tmp: shutil.copyfile(xlam, tmp))
        except OutputError as exc:
            if "没有写入权限" in str(exc) or "占用" in str(exc):
                raise AddinError(f"无法写入 {destination}：请先关闭 Excel 再安装") from None
            raise AddinError(f"复制加载项失败：{exc}") from None
        if platform == "mac":
            script = Path(xlwings.__file__).parent / f"xlwings-{xlwings.__version__}.applescript"
            scripts = Path.home() / _MAC_SCRIPTS
            scripts.mkdir(parents=True, exist_ok=True)
            shutil.copy(script, scripts)
    except PermissionError as exc:
        raise AddinError(f"无法写入 {destination}：请先关闭 Excel 再安装") from exc
    except OSError as exc:
        raise AddinError(f"复制加载项失败：{exc}") from exc

    windows = platform == "windows"
    text = config_text(sys.executable, windows=windows, pythonpath=_package_root())
    _write_config(config_file_path(), text, _ANSI_ENCODING if windows else "utf-8")
    return destination
