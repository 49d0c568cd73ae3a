"""Named datasets: the bundled ``sample_dataset`` plus the folders registered with ``nsml dataset add``.

A dataset is a folder in the hackathon layout (see ``speech_kit.layout``) and the name of the scorer its board
uses; sessions refer to it by name, and the platform hands its path to user code as ``NSML_DATASET_PATH``.
Registering checks the layout up front, so a typo is an error naming the missing file instead of a crash in the
middle of a run, and never silently replaces a dataset of the same name (``--force`` does). The test split is
identified by a fingerprint of its list and labels, so scores made on different test sets are never ranked
together even when the name stayed the same.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from nsml import home, scorers
from nsml.entities import Dataset, Session
from nsml.errors import NsmlError, UnknownName, UsageError
from nsml.snapshot import copy_out
from nsml.store import Store
from speech_kit import layout

BUILTIN = "sample_dataset"
FINGERPRINT_CHARS = 12


def _bundled() -> Dataset | None:
    folder = home.repo_root() / BUILTIN
    return Dataset(BUILTIN, str(folder), 0.0, scorers.DEFAULT) if folder.is_dir() else None


def known(store: Store) -> dict[str, Dataset]:
    """Every dataset by name; a registered ``sample_dataset`` replaces the bundled one."""
    found = {}
    bundled = _bundled()
    if bundled is not None:
        found[BUILTIN] = bundled
    found.update((dataset.name, dataset) for dataset in store.datasets())
    return dict(sorted(found.items()))


def resolve(store: Store, name: str) -> Dataset:
    datasets = known(store)
    if name not in datasets:
        raise UnknownName("dataset", name, datasets)
    if not datasets[name].root.is_dir():
        raise NsmlError(f"dataset {name!r}: its folder {datasets[name].path} no longer exists")
    return datasets[name]


def check_layout(root: Path) -> None:
    """Raise naming the first missing file: the four list/label files, then any wav a list names."""
    lists = ((layout.data_list_path(root), layout.train_data_dir(root)),
             (layout.test_list_path(root), layout.test_data_dir(root)))
    for required in (lists[0][0], layout.train_label_path(root), lists[1][0], layout.test_label_path(root)):
        if not required.is_file():
            raise NsmlError(f"{root} is not in the hackathon layout: {required} is missing")
    for list_path, data_dir in lists:
        try:
            pairs = (layout.read_pairs(list_path, "<wav-file>,<script-file>") if list_path == lists[0][0]
                     else layout.read_wav_list(list_path))
        except layout.DatasetError as error:
            raise NsmlError(str(error)) from None
        # exists(), not is_file(): a FIFO or folder in a wav's place is reported as such by the dataset check
        missing = [pair for pair in pairs if not (data_dir / pair.first).exists()]
        if missing:
            raise NsmlError(f"{list_path}:{missing[0].lineno} names {data_dir / missing[0].first}, which is missing "
                            f"({len(missing)} of {len(pairs)} listed files are missing)")


def counts(root: Path) -> tuple[int | None, int | None]:
    """Utterances listed for training and for test (None where the list is missing)."""
    def count(path: Path) -> int | None:
        if not path.is_file():
            return None
        with open(path, encoding="utf-8", errors="replace") as lines:
            return sum(1 for line in lines if line.strip())

    return count(layout.data_list_path(root)), count(layout.test_list_path(root))


def fingerprint(root: Path) -> str | None:
    """A short hash of ``test_list.csv`` and ``test_label`` as they are now; None when either is missing.

    Two submissions with the same fingerprint were scored on the same test files, byte for byte.
    """
    digest = hashlib.sha256()
    for path in (layout.test_list_path(root), layout.test_label_path(root)):
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def add(store: Store, name: str, path: Path, scorer: str = scorers.DEFAULT, force: bool = False,
        screen: Callable[[Path], None] | None = None) -> Dataset:
    """Register ``path`` as ``name``; an existing name (the bundled one too) is refused unless ``force``.

    ``screen(root)`` runs once the layout is right and before anything is registered (``nsml dataset add`` runs
    the whole dataset check there); it refuses by raising.
    """
    home.check_name(name, "dataset name")
    scorers.get(scorer)
    root = path.expanduser().resolve()
    if not root.is_dir():
        raise NsmlError(f"no folder {root}")
    existing = known(store).get(name)
    if existing is not None and not force:
        raise _taken(existing)
    check_layout(root)
    if screen is not None:
        screen(root)
    dataset = Dataset(name, str(root), time.time(), scorer)
    if not store.add_dataset(dataset, replace=force):  # registered meanwhile by another command
        raise _taken(known(store)[name])
    return dataset


def _taken(existing: Dataset) -> UsageError:
    return UsageError(f"dataset {existing.name!r} already exists ({existing.path}); replacing it changes what its "
                      f"board and sessions refer to: use --force to replace it, or choose another name")


def remove(store: Store, name: str, sessions: list[Session]) -> Dataset:
    """Forget a registered dataset (its files stay); refused while a session runs on it."""
    dataset = known(store).get(name)
    if dataset is None:
        raise UnknownName("dataset", name, known(store))
    running = [s.name for s in sessions if s.dataset == name and s.active]
    if running:
        raise NsmlError(f"dataset {name!r} is in use by running session(s) {', '.join(running)}; stop them first")
    if not store.remove_dataset(name):
        raise UsageError(f"dataset {name!r} is bundled with the kit ({dataset.path}) and cannot be removed")
    return dataset


def pull(store: Store, name: str, destination: Path) -> Path:
    return copy_out(resolve(store, name).root, name, destination)
