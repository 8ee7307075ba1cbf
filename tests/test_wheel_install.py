"""A user's install is the wheel, not the source tree: it must build the add-in.

Builds the wheel (``pip wheel --no-deps``), installs it without dependencies into a
fresh venv whose only other path entry is this environment's site-packages (so the
dependencies resolve without a download and this checkout's ``src`` is *not* on the
path), and runs ``python -m gkreport addin build`` from an empty folder. Before the
fix this exited 2 with "找不到加载项源文件". Also run by ``.ci/run``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import gkreport
from gkreport.xlam.build import built_version

ROOT = Path(__file__).resolve().parents[1]


def _build_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(dest)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.append("--no-build-isolation")  # no index needed
    done = subprocess.run([*cmd, str(ROOT)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"cannot build the wheel here (no build backend reachable): {done.stderr[-300:]}")
    (wheel,) = dest.glob("gkreport-*.whl")
    return wheel


def test_installed_wheel_builds_the_add_in(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "wheelhouse")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert {"gkreport/_data/addin/customUI.xml", "gkreport/_data/addin/gkreport_ribbon.bas",
            "gkreport/__main__.py", "gkreport/addin/xlcall.py", "gkreport/_aliases.py"} <= names

    env_dir = tmp_path / "fresh-venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", "--disable-pip-version-check", str(wheel)], check=True, timeout=300)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_gkreport_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")

    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run([str(python), "-c", "import gkreport; print(gkreport.__file__)"],
                           capture_output=True, text=True, cwd=work, env=env, check=True).stdout
    assert Path(where.strip()).resolve().is_relative_to(env_dir.resolve())  # the wheel, not ./src

    done = subprocess.run([str(python), "-m", "gkreport", "addin", "build", "-o", "gkreport.xlam"],
                          capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "已生成加载项" in done.stdout
    assert built_version(work / "gkreport.xlam") == gkreport.__version__
