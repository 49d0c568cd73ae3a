"""Running participant code on the server: bubblewrap namespaces plus a real unprivileged uid per team.

Two walls, either of which alone keeps a team away from the labels and from other teams:

- **What exists.** ``bwrap`` (started as root, so it may mount anything) gives the process a mount namespace that
  holds only the system folders, the Python installation, the kit's code (read-only) and the paths the caller binds:
  a team's own home for its CLI verbs, or for a scored submission only its code, its checkpoint, the test audio
  without labels and an output folder. The server's home, the labels and every other team's files are not mounted,
  so ``open()`` on them fails with "No such file or directory". The network namespace is new and empty (only a
  loopback interface that nothing listens on), so the server and the outside world cannot be reached.
- **Who runs.** Inside, ``setpriv`` drops to the team's own uid (no capabilities, no-new-privs) before the user's
  code starts: files the team did not write are read only where the mode allows it (labels are 0600 root, team
  homes 0700 of their uid).

A scored submission also gets its own PID namespace (it cannot see or signal other processes) and CPU, memory and
process limits (``setrlimit``, inherited by everything it starts). CLI verbs share the host's PID namespace,
because ``nsml stop`` signals a session's supervisor by the pid recorded in the team's store.

bubblewrap has to be installed (``apt-get install -y bubblewrap``); ``check()`` says so in one line when it is not.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nsml import home
from nsml.errors import NsmlError

SYSTEM_BINDS = ("/usr", "/etc", "/opt")  # read-only: programs, libraries, ld.so.cache, certificates
SYSTEM_LINKS = (("usr/bin", "/bin"), ("usr/lib", "/lib"), ("usr/lib64", "/lib64"), ("usr/sbin", "/sbin"))
SANDBOX_HOME = "/tmp"  # HOME inside: a private tmpfs (matplotlib and friends write caches there)
PASSED_ENV = ("LANG", "LC_ALL", "TZ", "PYTHONHASHSEED")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed process tree may use; None: no limit."""

    cpu_seconds: int | None = None
    memory_bytes: int | None = None
    processes: int | None = None
    file_bytes: int | None = None


@dataclass
class Jail:
    """One sandboxed command: what it sees, as whom, with what limits."""

    uid: int
    read_only: list[Path] = field(default_factory=list)  # bound at the same path
    writable: list[Path] = field(default_factory=list)
    mounted: dict[str, Path] = field(default_factory=dict)  # inside path -> host path, read-only
    hidden: list[Path] = field(default_factory=list)  # covered by an empty tmpfs (the server home in the repo)
    own_pids: bool = False
    die_with_parent: bool = False  # ended with the server (implied by own_pids)
    limits: Limits = Limits()


def check() -> None:
    """bubblewrap and setpriv are where the sandbox needs them, and the server runs as root (to mount and drop)."""
    if shutil.which("bwrap") is None:
        raise NsmlError("bubblewrap is not installed; the server runs participant code only inside it: "
                        "apt-get install -y bubblewrap")
    if shutil.which("setpriv") is None:
        raise NsmlError("setpriv is not installed (util-linux); apt-get install -y util-linux")
    if os.geteuid() != 0:
        raise NsmlError("nsml server must run as root: it mounts each sandbox with bubblewrap and then drops to the "
                        "team's own unprivileged uid (run it under sudo or in a container as root)")


def python_roots() -> list[Path]:
    """Folders the interpreter needs: the virtualenv and the installation it was made from."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).parent.resolve()}
    return sorted(roots)


def _system_args() -> list[str]:
    args: list[str] = []
    for folder in SYSTEM_BINDS:
        if Path(folder).is_dir():
            args += ["--ro-bind", folder, folder]
    for target, link in SYSTEM_LINKS:
        if Path(link).is_symlink():
            args += ["--symlink", target, link]
        elif Path(link).is_dir():
            args += ["--ro-bind", link, link]
    return args


def _parents(paths: Iterable[Path]) -> list[str]:
    """``--dir`` for every folder above a bound path, made 0755 (bubblewrap would make them 0700: the team's uid
    could not pass through them)."""
    made: list[str] = []
    args: list[str] = []
    for path in paths:
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text == "/" or text in made or text in SYSTEM_BINDS or text == "/tmp":
                continue
            made.append(text)
            args += ["--perms", "0755", "--dir", text]
    return args


def command(jail: Jail, argv: list[str], cwd: Path, env: Mapping[str, str]) -> list[str]:
    """The ``bwrap ... setpriv ... argv`` command line of ``jail``."""
    args = ["bwrap", *_system_args(),
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "nsml-sandbox"]
    if jail.own_pids:
        args += ["--unshare-pid", "--die-with-parent", "--new-session"]
    elif jail.die_with_parent:
        args += ["--die-with-parent"]
    repo = home.repo_root()
    args += _parents([repo, *python_roots(), *jail.read_only, *jail.writable, *map(Path, jail.mounted)])
    args += ["--ro-bind", str(repo), str(repo)]  # first: a virtualenv inside the repo is then bound over it
    for root in python_roots():
        args += ["--ro-bind", str(root), str(root)]
    for path in jail.hidden:
        if path.resolve() == repo or repo in path.resolve().parents:
            args += ["--tmpfs", str(path)]
    for path in jail.read_only:
        args += ["--ro-bind", str(path), str(path)]
    for path in jail.writable:
        args += ["--bind", str(path), str(path)]
    for inside, outside in jail.mounted.items():
        args += ["--ro-bind", str(outside), inside]
    args += ["--clearenv"]
    values = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    values.update({"HOME": SANDBOX_HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "TMPDIR": "/tmp"})
    values.update(env)
    for key, value in values.items():
        args += ["--setenv", key, value]
    args += ["--chdir", str(cwd), "--",
             "setpriv", f"--reuid={jail.uid}", f"--regid={jail.uid}", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all", "--no-new-privs", "--", *argv]
    return args


def _apply_limits(limits: Limits) -> Callable[[], None]:
    """Set ``limits`` in the child before bwrap starts; they are inherited by everything below it."""

    def apply() -> None:
        for kind, value in ((resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_bytes),
                            (resource.RLIMIT_FSIZE, limits.file_bytes)):
            if value is not None:
                resource.setrlimit(kind, (value, value))
        # RLIMIT_NPROC counts every process of the uid it ends up as (the team's); root's own steps ignore it
        if limits.processes is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return apply


def popen(jail: Jail, argv: list[str], cwd: Path, env: Mapping[str, str], **options: object) -> subprocess.Popen:
    """Start ``argv`` inside ``jail``; ``options`` go to ``subprocess.Popen`` (stdin, stdout, stderr ...)."""
    return subprocess.Popen(command(jail, argv, cwd, env), preexec_fn=_apply_limits(jail.limits),  # noqa: PLW1509
                            **options)


def chown_tree(root: Path, uid: int, paths: Iterable[Path] | None = None) -> None:
    """Give ``root`` and everything in it to ``uid`` (what the server unpacked or made for a team)."""
    os.chown(root, uid, uid, follow_symlinks=False)
    for parent, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.chown(Path(parent) / name, uid, uid, follow_symlinks=False)
    for path in paths or ():
        os.chown(path, uid, uid, follow_symlinks=False)
