"""Registration point for subcommands implemented in their own modules."""

from __future__ import annotations

import argparse
import importlib

# Each module has ``add_parser(subparsers)``; a module that is absent is skipped so
# the core commands keep working in a partial checkout.
MODULES = (
    "cli_check", "cli_import", "cli_consolidate", "cli_addin", "cli_demo", "cli_publish", "cli_compare", "cli_rules",
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommands implemented outside cli.py to the parser."""
    for name in MODULES:
        try:
            module = importlib.import_module(f"gkreport.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"gkreport.{name}":
                raise
            continue
        module.add_parser(sub)
