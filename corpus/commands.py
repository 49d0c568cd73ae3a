"""Running the external tools of the generator (espeak-ng, sox) with errors that say what to do.

A missing tool names the Debian package that brings it; a failed command names itself and what it printed, on
one line, so a command-line tool can report it as ``PROG: error: ...``.
"""

from __future__ import annotations

import shutil
import subprocess

PACKAGES = {"espeak-ng": "espeak-ng", "sox": "sox"}


class ToolError(RuntimeError):
    """An external tool is missing or failed."""


def require(tool: str) -> str:
    """The path of ``tool``, or ``ToolError`` with the install command."""
    path = shutil.which(tool)
    if path is None:
        raise ToolError(f"{tool} is not installed or not on PATH; install it with: "
                        f"apt-get install -y {PACKAGES.get(tool, tool)}")
    return path


def run(cmd: list[str]) -> str:
    """Run ``cmd``; its standard output, or ``ToolError`` naming the command and its stderr on one line."""
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        printed = " | ".join(line.strip() for line in result.stderr.splitlines() if line.strip())
        raise ToolError(f"command failed with exit code {result.returncode}: {' '.join(cmd)}: {printed}")
    return result.stdout
