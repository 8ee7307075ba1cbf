"""The old flat module names (before the folders by concern, issue #14) and where each lives now.

Installed add-ins (``.xlam`` files at agencies call ``gkreport.xlcall`` by name) and user scripts
import the old names, so they must keep working: :class:`AliasFinder` imports the new module and
registers the SAME module object under the old name, so ``mock.patch("gkreport.values.x")``
patches the real module. The table is the one place that knows both names. The finder is
the last on ``sys.meta_path``, so it is asked only about names no file answers: importing
``gkreport`` costs this small module and nothing else (importlib is imported on first use).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType

# old name (under gkreport.) -> new name (under gkreport.)
ALIASES: dict[str, str] = {
    # core: the pure model, rules and engine (no workbook library: tests/test_import_contract.py)
    "addresses": "core.addresses",
    "values": "core.values",
    "labels": "core.labels",
    "findings": "core.findings",
    "report": "core.report",
    "engine": "core.engine",
    "locate": "core.locate",
    "locate_milp": "core.locate_milp",
    "formula": "core.formula",
    "forms": "core.forms",
    "form_parse": "core.form_parse",
    "form_schema": "core.form_schema",
    "forms_meta": "core.forms_meta",
    "overlay": "core.overlay",
    "rule_types": "core.rule_types",
    "rule_checks": "core.rule_checks",
    "rule_text": "core.rule_text",
    "stamp": "core.stamp",
    "describe": "core.describe",
    "livecalc": "core.livecalc",
    "exits": "core.exits",
    "resources": "core.resources",
    # readers: the OOXML package layer and the choice of input files join the readers
    "ooxml": "readers.ooxml",
    "ooxml_common": "readers.ooxml_common",
    "ooxml_members": "readers.ooxml_members",
    "ooxml_sheet": "readers.ooxml_sheet",
    "inputs": "readers.inputs",
    # output: every file gkreport writes (templates, filled copies, bulk rows, notices)
    "template": "output.template",
    "template_checks": "output.template_checks",
    "template_header": "output.template_header",
    "template_style": "output.template_style",
    "sheet_print": "output.sheet_print",
    "fill": "output.fill",
    "xlsx_rows": "output.xlsx_rows",
    "outputs": "output.outputs",
    "safety": "output.safety",
    "notices": "output.notices",
    # markers: checking one file and marking what is wrong in it
    "marking": "markers.marking",
    "checking": "markers.checking",
    "check_batch": "markers.check_batch",
    # consolidation: many files into one summary, and the comparisons between levels
    "consolidate": "consolidation.consolidate",
    "consolidate_model": "consolidation.consolidate_model",
    "consolidate_read": "consolidation.consolidate_read",
    "pool": "consolidation.pool",
    "roster": "consolidation.roster",
    "rollup": "consolidation.rollup",
    "summary_charts": "consolidation.summary_charts",
    "summary_style": "consolidation.summary_style",
    "summary_workbook": "consolidation.summary_workbook",
    "compare": "consolidation.compare",
    "compare_workbook": "consolidation.compare_workbook",
    # commands: the command line, its guard, its terminal and its process plumbing
    "cli": "commands.cli",
    "cli_addin": "commands.cli_addin",
    "cli_check": "commands.cli_check",
    "cli_commands": "commands.cli_commands",
    "cli_compare": "commands.cli_compare",
    "cli_consolidate": "commands.cli_consolidate",
    "cli_demo": "commands.cli_demo",
    "cli_import": "commands.cli_import",
    "cli_publish": "commands.cli_publish",
    "cli_rules": "commands.cli_rules",
    "console": "commands.console",
    "guard": "commands.guard",
    "runtime": "commands.runtime",
    # addin: the Python side of the Excel ribbon (the .xlam itself is built by gkreport.xlam)
    "excel": "addin.excel",
    "excel_newform": "addin.excel_newform",
    "xlcall": "addin.xlcall",
}


class _AliasLoader:
    """Loads an old name by importing its new module and putting THAT object in ``sys.modules``.

    The import system creates a throw-away module for the old name's spec, calls
    :meth:`exec_module`, then returns whatever ``sys.modules`` holds under the old name: the
    real module. ``python -m gkreport.xlcall`` (what add-ins built before the move start) asks
    for the code instead, which is the new module's.
    """

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None  # the default module; replaced in exec_module

    def exec_module(self, module: ModuleType) -> None:
        import importlib

        sys.modules[module.__name__] = importlib.import_module(self.new)

    def get_code(self, fullname: str) -> CodeType | None:
        import importlib.util

        spec = importlib.util.find_spec(self.new)
        loader = spec.loader if spec is not None else None
        get_code = getattr(loader, "get_code", None)
        return get_code(self.new) if get_code is not None else None


class AliasFinder:
    """A ``sys.meta_path`` finder that answers only the old names of :data:`ALIASES`."""

    @classmethod
    def find_spec(cls, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        package, _, old = fullname.partition(".")
        new = ALIASES.get(old) if package == __package__ else None
        if new is None:
            return None
        from importlib.machinery import ModuleSpec

        return ModuleSpec(fullname, _AliasLoader(f"{__package__}.{new}"))  # type: ignore[arg-type]


def install() -> None:
    """Answer the old names from now on (called once by ``gkreport/__init__.py``)."""
    if AliasFinder not in sys.meta_path:
        sys.meta_path.append(AliasFinder)
