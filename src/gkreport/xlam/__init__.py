"""Build and install the gkreport Excel ribbon add-in (``gkreport.xlam``).

The add-in is xlwings' own ribbon add-in template with our ribbon XML and our
VBA callbacks swapped in, built on any OS without Excel (see
``docs/addin-build.md``).
"""

from __future__ import annotations


class AddinError(Exception):
    """A build or install problem, with a message meant for the user (Chinese)."""


from gkreport.xlam.build import build_xlam  # noqa: E402
from gkreport.xlam.install import install_addin  # noqa: E402

__all__ = ["AddinError", "build_xlam", "install_addin"]
