"""Running the external programs of speech synthesis (espeak-ng, sox, later Festival's text2wave) as subprocesses.

Every failure becomes a ``ToolError`` whose message fits on one line, so a command-line tool can print it as
``PROG: error: ...``: a missing program names the Debian package and the ``apt-get`` command that brings it; a
failed command names itself, its exit status and what it printed on stderr. Commands are argument lists, never a
shell line, so a text to speak needs no quoting.
"""

from __future__ import annotations

import shutil
import subprocess

# Program -> the Debian/Ubuntu package that installs it.
PACKAGES: dict[str, str] = {"espeak-ng": "espeak-ng", "sox": "sox", "text2wave": "festival", "festival": "festival"}


class ToolError(RuntimeError):
    """An external program is missing or failed; the message says which, and what to do or what it printed."""


def require(tool: str) -> str:
    """The full path of ``tool``, or a ``ToolError`` with the command that installs it."""
    path = shutil.which(tool)
    if path is None:
        raise ToolError(f"{tool} is not installed or not on PATH; install it with: "
                        f"apt-get install -y {PACKAGES.get(tool, tool)}")
    return path


def run(cmd: list[str]) -> str:
    """Run ``cmd``; its standard output as text, or a ``ToolError`` naming the command and its stderr."""
    return _run(cmd, text=True).stdout


def run_bytes(cmd: list[str]) -> bytes:
    """Run ``cmd``; its standard output as bytes (audio written to ``--stdout``), or a ``ToolError``."""
    return _run(cmd, text=False).stdout


def _run(cmd: list[str], text: bool) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(cmd, capture_output=True, text=text)
    except OSError as err:  # not executable, vanished since ``require``, too many processes
        raise ToolError(f"cannot run {cmd[0]}: {err.strerror}") from None
    if result.returncode != 0:
        stderr = result.stderr if text else result.stderr.decode(errors="replace")
        printed = " | ".join(line.strip() for line in stderr.splitlines() if line.strip())
        raise ToolError(f"command failed with exit code {result.returncode}: {' '.join(cmd)}"
                        + (f": {printed}" if printed else ""))
    return result
