"""A registered dataset where every cluster node can read it: in place under ``$NSML_SHARED``, else a copy there.

A dataset registered from a folder of the login machine (``/data/speech``, the kit's own ``sample_dataset``) is
copied once into ``$NSML_SHARED/datasets/NAME/DIGEST``, hard-linked where the shared folder is on the same file
system. DIGEST covers every file's path, size and modification time, so a dataset changed in place gets a new
copy while an unchanged one is reused by every session. The copy is made beside its place and renamed into it,
so a node never reads half of one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from nsml.entities import Dataset

DATASETS = "datasets"


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def digest(root: Path) -> str:
    """What the dataset's files are, cheaply: names, sizes and mtimes (no file is read)."""
    hasher = hashlib.sha256()
    for parent, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(parent, name)
            info = path.stat()
            hasher.update(f"{path.relative_to(root)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return hasher.hexdigest()[:16]


def stage(dataset: Dataset, shared: Path) -> Path:
    """The dataset's folder as the nodes see it."""
    root = dataset.root.resolve()
    if root == shared.resolve() or shared.resolve() in root.parents:
        return root
    target = shared / DATASETS / dataset.name / digest(root)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(root, partial, symlinks=False, copy_function=_link_or_copy)
    try:
        os.rename(partial, target)
    except OSError:  # another command staged it meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return target
