"""Named datasets: the bundled ``sample_dataset`` plus the folders registered with ``nsml dataset add``.

A dataset is a folder in the hackathon layout (see ``dataset_layout``); sessions refer to it by name, and the
platform hands its path to user code as ``NSML_DATASET_PATH``. Registering checks the layout up front, so a typo
is an error naming the missing file instead of a crash in the middle of a run.
"""

from __future__ import annotations

import time
from pathlib import Path

from speech_kit import layout
from nsml import home
from nsml.errors import NsmlError, UnknownName
from nsml.snapshot import copy_out
from nsml.store import Store

BUILTIN = "sample_dataset"


def known(store: Store) -> dict[str, Path]:
    """Every dataset name and its folder; a registered name may point the bundled one elsewhere."""
    found = {}
    bundled = home.repo_root() / BUILTIN
    if bundled.is_dir():
        found[BUILTIN] = bundled
    found.update((name, Path(path)) for name, path in store.datasets().items())
    return dict(sorted(found.items()))


def resolve(store: Store, name: str) -> Path:
    datasets = known(store)
    if name not in datasets:
        raise UnknownName("dataset", name, datasets)
    if not datasets[name].is_dir():
        raise NsmlError(f"dataset {name!r}: its folder {datasets[name]} no longer exists")
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
        missing = [pair for pair in pairs if not (data_dir / pair.first).is_file()]
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


def add(store: Store, name: str, path: Path) -> Path:
    home.check_name(name, "dataset name")
    root = path.expanduser().resolve()
    if not root.is_dir():
        raise NsmlError(f"no folder {root}")
    check_layout(root)
    store.add_dataset(name, str(root), time.time())
    return root


def pull(store: Store, name: str, destination: Path) -> Path:
    return copy_out(resolve(store, name), name, destination)
