"""``gkreport addin build|install|offline-bundle``.

Building works on any OS (no Excel needed) and from an installed wheel (the add-in
sources ship as package data). ``install`` always installs the add-in of the running
gkreport version: without ``--xlam`` it builds a fresh one (an old ``dist/gkreport.xlam``
left by a previous version is never reused), and a given ``--xlam`` must carry this
version's stamp. Installing needs Excel (Windows/macOS) and prints the Chinese reason
otherwise, exit code 2, like other unusable-input cases. ``offline-bundle`` writes a
folder that installs everything on a PC without network.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from gkreport.core.exits import Exit
from gkreport.output.outputs import OutputError, check_output

from .guard import guarded

DEFAULT_OUT = Path("dist") / "gkreport.xlam"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("addin", help="生成、安装 Excel 功能区加载项（gkreport.xlam），或制作离线安装包")
    actions = p.add_subparsers(dest="addin_command", metavar="{build,install,offline-bundle}")
    actions.required = True
    b = actions.add_parser("build", help="生成 gkreport.xlam（任何系统均可，无需 Excel）")
    b.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, metavar="FILE",
                   help=f"输出文件（默认 {DEFAULT_OUT}）")
    b.set_defaults(func=guarded(run_build))
    i = actions.add_parser("install", help="把当前版本的加载项安装到本机 Excel，并指向当前 Python")
    i.add_argument("--xlam", type=Path, metavar="FILE",
                   help="要安装的加载项文件（须由当前版本生成；默认现场生成）")
    i.set_defaults(func=guarded(run_install))
    o = actions.add_parser("offline-bundle", help="制作离线安装包（Windows 64 位，不联网的电脑用）")
    o.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="输出文件夹")
    o.add_argument("--python-version", metavar="X.Y",
                   help="目标电脑上的 Python 版本（默认与当前 Python 相同）")
    o.add_argument("--wheel", type=Path, metavar="FILE", help="使用现成的 gkreport wheel 文件")
    o.set_defaults(func=guarded(run_offline_bundle))


def _fail(e: Exception) -> int:
    print(f"错误：{e}", file=sys.stderr)
    return Exit.UNUSABLE


def run_build(args: argparse.Namespace) -> int:
    from gkreport.xlam import AddinError, build_xlam

    try:
        check_output(args.output, suffixes=(".xlam",), force=True, what="加载项输出文件")  # never a folder, FIFO, device
        out = build_xlam(args.output)
    except (AddinError, OutputError, OSError) as e:
        return _fail(e)
    print(f"已生成加载项：{out}")
    return Exit.OK


def _store_python_steps() -> str:
    """Store Python: the add-in is outside XLSTART, so Excel must be told where it is."""
    return (
        "检测到 Microsoft Store 版 Python：它写入 AppData 的文件会被重定向到私有文件夹，"
        "Excel 看不到，所以加载项放在了上面的位置。请在 Excel 中：文件 → 选项 → 加载项 → "
        "管理“Excel 加载项”→ 转到 → 浏览，选中该文件并勾选“Gkreport”。"
        "（或改用 python.org 的安装程序安装 Python 后重新安装 gkreport。）"
    )


def run_install(args: argparse.Namespace) -> int:
    from gkreport.xlam import AddinError, build_xlam, install_addin
    from gkreport.xlam.install import is_store_python

    try:
        with tempfile.TemporaryDirectory(prefix="gkreport-addin-") as tmp:
            xlam = args.xlam
            if xlam is None:
                xlam = build_xlam(Path(tmp) / "gkreport.xlam")
            installed = install_addin(xlam)
    except (AddinError, OutputError, OSError) as e:
        return _fail(e)
    print(f"已安装加载项：{installed}")
    if sys.platform.startswith("win") and is_store_python():
        print(_store_python_steps())
    else:
        print("请重新启动 Excel；功能区上会出现“政务公开年报”选项卡。")
    return Exit.OK


def run_offline_bundle(args: argparse.Namespace) -> int:
    from gkreport.xlam import AddinError
    from gkreport.xlam.offline import BAT_NAME, build_offline_bundle

    try:
        out = build_offline_bundle(args.output, args.python_version, args.wheel)
    except (AddinError, OutputError, OSError) as e:
        return _fail(e)
    print(f"已生成离线安装包：{out}")
    print(f"把整个文件夹复制到目标电脑，关闭 Excel 后双击其中的“{BAT_NAME}”。")
    return Exit.OK
