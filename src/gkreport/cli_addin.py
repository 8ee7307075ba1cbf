"""``gkreport addin build [-o FILE]`` and ``gkreport addin install [--xlam FILE]``.

Building works on any OS (no Excel needed); installing needs Excel (Windows/macOS) and
prints the Chinese reason otherwise, exit code 2, like other unusable-input cases.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .exits import Exit
from .guard import guarded
from .outputs import OutputError, check_output

DEFAULT_OUT = Path("dist") / "gkreport.xlam"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("addin", help="生成或安装 Excel 功能区加载项（gkreport.xlam）")
    actions = p.add_subparsers(dest="addin_command", metavar="{build,install}")
    actions.required = True
    b = actions.add_parser("build", help="生成 gkreport.xlam（任何系统均可，无需 Excel）")
    b.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, metavar="FILE",
                   help=f"输出文件（默认 {DEFAULT_OUT}）")
    b.set_defaults(func=guarded(run_build))
    i = actions.add_parser("install", help="把加载项安装到本机 Excel，并指向当前 Python")
    i.add_argument("--xlam", type=Path, metavar="FILE",
                   help=f"要安装的加载项文件（默认 {DEFAULT_OUT}，不存在时先生成）")
    i.set_defaults(func=guarded(run_install))


def run_build(args: argparse.Namespace) -> int:
    from .xlam import AddinError, build_xlam

    check_output(args.output, suffixes=(".xlam",), force=True, what="加载项输出文件")  # never a folder, FIFO, device
    try:
        out = build_xlam(args.output)
    except (AddinError, OutputError, OSError) as e:
        print(f"错误：{e}", file=sys.stderr)
        return Exit.UNUSABLE
    print(f"已生成加载项：{out}")
    return Exit.OK


def run_install(args: argparse.Namespace) -> int:
    from .xlam import AddinError, build_xlam, install_addin

    try:
        xlam = args.xlam
        if xlam is None:
            xlam = DEFAULT_OUT
            if not xlam.is_file():
                build_xlam(xlam)
                print(f"已生成加载项：{xlam}")
        installed = install_addin(xlam)
    except (AddinError, OutputError, OSError) as e:
        print(f"错误：{e}", file=sys.stderr)
        return Exit.UNUSABLE
    print(f"已安装加载项：{installed}")
    print("请重新启动 Excel；功能区上会出现“政务公开年报”选项卡。")
    return Exit.OK
