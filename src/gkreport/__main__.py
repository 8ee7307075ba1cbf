"""``python -m gkreport``: the command line without the ``gkreport`` script on PATH.

A ``pip install --user`` (no admin rights) puts ``gkreport.exe`` in a Scripts folder that
is usually not on PATH; ``python -m gkreport addin install`` always works.
"""

from __future__ import annotations

import sys

from gkreport.cli import main

if __name__ == "__main__":
    sys.exit(main())
