"""Registration point for subcommands implemented in their own modules, imported only when run.

``gkreport -h`` lists every command, but ``gkreport --version``, ``-h`` and a command's own
work must not pay for the other commands' libraries (openpyxl, highspy, python-docx, …: a
command module imports what it needs at its top). So each command is registered here by
name, module and one-line summary; its module is imported, and its ``add_parser(subparsers)``
called, only when argparse has chosen that command (:class:`LazySubcommands`). A module that
is absent is skipped, so the core commands keep working in a partial checkout.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

from .runtime import import_openpyxl

# name -> (module in gkreport, the summary shown by ``gkreport -h``; the module's own
# ``add_parser`` gives the same help, checked by tests/test_startup.py).
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("cli_check", "校验报表：找出合计、勾稽关系、数值格式等问题，可输出标注副本"),
    "import": ("cli_import", "读取已发布的年度报告（.txt/.tsv/.docx/.html/.xlsx），生成已填好的模板"),
    "consolidate": ("cli_consolidate", "汇总多个单位的报表：生成全县汇总表、报送情况、问题清单和明细"),
    "addin": ("cli_addin", "生成、安装 Excel 功能区加载项（gkreport.xlam），或制作离线安装包"),
    "demo": ("cli_demo", "用自带的示例演示：生成模板、校验并标注示例报表、汇总示例县"),
    "publish": ("cli_publish", "生成可发布的年度报告（Word 或网页）：六部分提纲、官方表格、由表格生成的数据语句"),
    "compare": ("cli_compare", "比对上级报表与下级报表之和：列出不相等的格子和缺少的下级"),
    "rules": ("cli_rules", "检查规则文件（表式定义或省级规则覆盖）并列出展开后的勾稽关系"),
}
NO_WORKBOOKS = frozenset({"addin", "rules"})  # the commands that never read or write a workbook with openpyxl
# The commands that import openpyxl themselves, where they need it: ``check`` of a file the fast
# reader accepts never does (readers.workbook, checking.write_marked call import_openpyxl).
OWN_OPENPYXL = frozenset({"check"})


class LazySubcommands(argparse._SubParsersAction):
    """Subparsers whose lazily registered commands are built when argparse picks one.

    A lazy command starts as an empty placeholder parser carrying its name and summary
    (all ``gkreport -h`` shows). When the command line names it, the placeholder is
    replaced by the module's real parser before argparse parses the rest of the line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy: dict[str, str] = {}
        self.on_load: Callable[[str, argparse.ArgumentParser], None] | None = None

    def add_lazy(self, name: str, module: str, summary: str) -> None:
        """Register ``name``, implemented by ``gkreport.<module>``, without importing it."""
        self.add_parser(name, help=summary)
        self._lazy[name] = module

    def load(self, name: str) -> argparse.ArgumentParser:
        """The real parser of ``name`` (importing its module the first time)."""
        module = self._lazy.pop(name, None)
        if module is not None:
            del self._name_parser_map[name]  # argparse refuses to add a name twice (3.11+)
            place = next(i for i, a in enumerate(self._choices_actions) if a.dest == name)
            del self._choices_actions[place]
            listed = len(self._choices_actions)
            if name not in NO_WORKBOOKS | OWN_OPENPYXL:
                import_openpyxl()  # first, so that the module's own imports find it loaded
            importlib.import_module(f"gkreport.commands.{module}").add_parser(self)
            if len(self._choices_actions) > listed:  # keep the order ``gkreport -h`` lists
                self._choices_actions.insert(place, self._choices_actions.pop())
            if self.on_load is not None:
                self.on_load(name, self._name_parser_map[name])
        parser: argparse.ArgumentParser = self._name_parser_map[name]
        return parser

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        if isinstance(values, list | tuple) and values and values[0] in self._lazy:
            self.load(values[0])
        super().__call__(parser, namespace, values, option_string)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommands implemented outside cli.py to the parser (lazily when ``sub``
    is a :class:`LazySubcommands`, else by importing each module now)."""
    for name, (module, summary) in COMMANDS.items():
        if importlib.util.find_spec(f"gkreport.commands.{module}") is None:
            continue
        if isinstance(sub, LazySubcommands):
            sub.add_lazy(name, module, summary)
        else:
            importlib.import_module(f"gkreport.commands.{module}").add_parser(sub)
