"""Named datasets: the bundled ``sample_dataset`` plus the folders registered with ``nsml dataset add``.

A dataset is a folder in the hackathon layout (see ``speech_kit.layout``) and the name of the scorer its board
uses; sessions refer to it by name, and the platform hands its path to user code as ``NSML_DATASET_PATH``.
Registering checks the layout up front, so a typo is an error naming the missing file instead of a crash in the
middle of a run, and never silently replaces a dataset of the same name (``--force`` does). The test split is
identified by a fingerprint of its list and labels, so scores made on different test sets are never ranked
together even when the name stayed the same.

A folder without ``test/`` (the 2019 hackathon's own ``sample_dataset`` held only ``train/``) is registered as a
train-only dataset: sessions train on it, and ``nsml submit`` explains that there is nothing to score on. A test
split can be carved out of its training list instead (``carve_test_split``): a seeded, deterministic draw of N
utterances, written with the rest as a new dataset folder under ``$NSML_HOME/datasets/NAME`` (the wavs hard-linked
where the file system allows, else copied); the user's folder is only read.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from nsml import home, scorers
from nsml.entities import Dataset, Session
from nsml.errors import NsmlError, UnknownName, UsageError
from nsml.snapshot import copy_out
from nsml.store import Store
from speech_kit import layout
from speech_kit.vocab import LabelTableError, Vocab

BUILTIN = "sample_dataset"
FINGERPRINT_CHARS = 12
CARVED = "datasets"  # $NSML_HOME/datasets/NAME: the folders of datasets with a test split carved from train
TRAIN_LIST_LINE = "<wav-file>,<script-file>"


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


def has_test_split(root: Path) -> bool:
    """Whether the folder has ``test/`` at all; without it, it is a train-only dataset (the 2019 sample's form)."""
    return (root / "test").exists()


def no_test_split(dataset: Dataset) -> str:
    """Why a train-only dataset cannot be submitted to, and how to get a dataset that can."""
    return (f"dataset {dataset.name!r} has no test split ({dataset.path} has no test/), so there is nothing to "
            f"score a checkpoint on; carve one out of its training list as a new dataset and train there: nsml "
            f"dataset add {dataset.name}_split {dataset.path} --test_from_train N (a session trained on all of "
            f"{dataset.name} has heard every utterance such a split would hold), or add test/ in the hackathon "
            f"layout (docs/dataset.md) and register the folder again with --force")


def check_layout(root: Path) -> None:
    """Raise naming the first missing file: the list/label files, then any wav a list names.

    ``test/`` may be missing as a whole (a train-only dataset); once it exists, its list and labels are required.
    """
    lists = [(layout.data_list_path(root), layout.train_data_dir(root))]
    required = [lists[0][0], layout.train_label_path(root)]
    if has_test_split(root):
        lists.append((layout.test_list_path(root), layout.test_data_dir(root)))
        required += [lists[1][0], layout.test_label_path(root)]
    for path in required:
        if not path.is_file():
            raise NsmlError(f"{root} is not in the hackathon layout: {path} is missing")
    for list_path, data_dir in lists:
        try:
            pairs = (layout.read_pairs(list_path, TRAIN_LIST_LINE) if list_path == lists[0][0]
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
        raise taken(existing)
    check_layout(root)
    if screen is not None:
        screen(root)
    dataset = Dataset(name, str(root), time.time(), scorer)
    if not store.add_dataset(dataset, replace=force):  # registered meanwhile by another command
        raise taken(known(store)[name])
    return dataset


def taken(existing: Dataset) -> UsageError:
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


def carved_root(name: str) -> Path:
    """Where the dataset ``name`` carved by ``--test_from_train`` lives."""
    return home.nsml_home() / CARVED / name


def default_labels() -> Path:
    """The label table ``train_label`` ids are read with when none is given: main.py's default."""
    return home.repo_root() / "hackathon.labels"


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def _read_train(source: Path, labels: Vocab) -> tuple[list[layout.Pair], dict[str, layout.Pair]]:
    """The train list and ``{key: train_label line}``, every listed key with a line whose ids ``labels`` reads."""
    try:
        listed = layout.read_pairs(layout.data_list_path(source), TRAIN_LIST_LINE)
        lines = {pair.first: pair for pair in layout.read_pairs(layout.train_label_path(source),
                                                                "<key>,<label ids separated by spaces>")}
    except layout.DatasetError as error:
        raise NsmlError(str(error)) from None
    for pair in listed:
        if layout.key_of(pair.first) not in lines:
            raise NsmlError(f"{layout.data_list_path(source)}:{pair.lineno}: {pair.first} has no line in "
                            f"{layout.train_label_path(source)}")
    return listed, lines


def _transcript(line: layout.Pair, path: Path, labels: Vocab) -> str:
    """The text of a ``train_label`` line: its ids read with ``labels`` (as the seed's ``label_to_string``)."""
    try:
        ids = [int(i) for i in line.second.split()]
    except ValueError:
        ids = [-1]
    if all(0 <= i < len(labels) for i in ids):
        return labels.decode(ids)
    raise UsageError(f"{path}:{line.lineno}: label ids {line.second!r} do not read with the label table "
                     f"{labels.source} ({len(labels)} labels); give the dataset's own with --labels")


def carve_test_split(source: Path, target: Path, count: int, seed: int, labels_path: Path | None = None) -> Path:
    """Write ``target``: ``source``'s training data split into ``count`` test utterances and the rest as train.

    The test utterances are drawn with ``random.Random(seed)``, so the same folder, count and seed give the same
    split. They are written in the platform's 2019 form: ``test/test_data/*.wav`` with ``test_list.csv`` (one wav
    name per line) and ``test/test_label`` (``<key>,<transcript text>``, read from the label ids of
    ``train_label`` with ``labels_path``, default main.py's ``hackathon.labels``). The train list and labels keep
    the other lines as they were. ``source`` is never written to; ``target`` is replaced only once complete.
    """
    source = source.expanduser().resolve()
    if not source.is_dir():
        raise NsmlError(f"no folder {source}")
    if has_test_split(source):
        raise UsageError(f"--test_from_train: {source} has a test split already (test/); register it as it is, "
                         f"or carve from a folder with train/ only")
    check_layout(source)
    try:
        labels = Vocab.from_file(labels_path or default_labels())
    except (LabelTableError, OSError, ValueError) as error:
        raise UsageError(f"--labels {labels_path}: {error}") from None
    listed, lines = _read_train(source, labels)
    if not 0 < count < len(listed):
        raise UsageError(f"--test_from_train {count}: {layout.data_list_path(source)} lists {len(listed)} "
                         f"utterances; the test split takes 1 to {len(listed) - 1} of them, the rest is trained on")
    chosen = set(random.Random(seed).sample(range(len(listed)), count))
    test = [pair for index, pair in enumerate(listed) if index in chosen]
    train = [pair for index, pair in enumerate(listed) if index not in chosen]
    test_keys = {layout.key_of(pair.first) for pair in test}
    label_path = layout.train_label_path(source)
    texts = {key: _transcript(lines[key], label_path, labels) for key in sorted(test_keys)}

    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        for pair in train:
            _link_or_copy(layout.train_data_dir(source) / pair.first, layout.train_data_dir(building) / pair.first)
        layout.data_list_path(building).write_text("".join(f"{p.first},{p.second}\n" for p in train),
                                                   encoding="utf-8")
        layout.train_label_path(building).write_text(
            "".join(f"{key},{line.second}\n" for key, line in lines.items() if key not in test_keys),
            encoding="utf-8")
        for pair in test:
            _link_or_copy(layout.train_data_dir(source) / pair.first, layout.test_data_dir(building) / pair.first)
        layout.test_list_path(building).write_text("".join(f"{p.first}\n" for p in test), encoding="utf-8")
        layout.test_label_path(building).write_text(
            "".join(f"{layout.key_of(p.first)},{texts[layout.key_of(p.first)]}\n" for p in test), encoding="utf-8")
        (building / "README").write_text(
            f"Carved by nsml dataset add --test_from_train {count} --split_seed {seed} from {source}: test/ holds "
            f"{count} utterances of its train list (transcripts read with {labels.source}), train/ the other "
            f"{len(train)}.\n", encoding="utf-8")
        replace_folder(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def replace_folder(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; a folder already there is moved aside first and deleted afterwards."""
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        home.contained(target)  # never a link planted in the platform's folder
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
