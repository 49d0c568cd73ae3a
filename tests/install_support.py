"""Running pieces of scripts/install.sh in a clean environment, and interpreters it can be pointed at."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import ROOT
INSTALL = ROOT / "scripts" / "install.sh"
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a new login shell: no active virtualenv, no NSML settings, apt switched off."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHON", "KIT_VENV", "PYTHONPATH") and not k.startswith(("NSML_", "KIT_"))}
    env.update(KIT_APT="0", **extra)
    return env


def run_install_function(call: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Source install.sh with only its functions defined, then run ``call`` (a shell line) in that shell."""
    script = f'KIT_INSTALL_FUNCTIONS_ONLY=1 source "{INSTALL}"\n{call}\n'
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=timeout)


def fake_virtualenv(folder: Path) -> Path:
    """A folder whose bin/python runs this interpreter: what an activated virtualenv looks like to install.sh.

    A wrapper script, not a symlink: a symlinked venv interpreter would not find its pyvenv.cfg and would run as
    the base Python, so install.sh would see (and install into) the wrong site-packages.
    """
    (folder / "bin").mkdir(parents=True)
    python = folder / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return folder


def failing_python(folder: Path) -> Path:
    """An interpreter whose ``-m venv`` fails as Debian's python3 does without the python3-venv package."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "python3"
    fake.write_text("#!/bin/sh\necho 'The virtual environment was not created successfully because ensurepip is not\n"
                    "available.  On Debian/Ubuntu systems, you need to install the python3-venv package' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    return fake
