"""Make a generated numbers folder an NSML dataset: ``python -m ru_numbers.nsml_dataset DIR``.

``DIR`` holds ``train.csv`` and ``test.csv`` (``python -m ru_numbers.generate``). This writes beside them the
four files of the 2019 hackathon layout, pointing at the same wav files, so that ``nsml dataset add NAME DIR
--scorer exact``, ``nsml run -d NAME -e ru_numbers/train.py`` (which reads ``DIR/train.csv`` itself) and
``nsml submit`` work as for the Korean data. The test label of an utterance is ``<digits> <gender>``, which is
what the entry's ``infer`` answers, so the ``exact`` scorer counts an utterance right only when both are.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ru_numbers.manifest import ManifestError, audio_path, read_manifest
from ru_numbers.units import WORDS, manifest_units
from speech_kit import layout
from speech_kit.atomic import atomic_write
from speech_kit.cli import fail

PROG = "python -m ru_numbers.nsml_dataset"


def write_layout(root: str | os.PathLike) -> tuple[int, int]:
    """Write the hackathon lists and labels under ``root``; returns (train, test) utterance counts."""
    root = Path(root)
    vocab = WORDS.vocab()
    train_csv, test_csv = root / "train.csv", root / "test.csv"
    train_rows, test_rows = read_manifest(train_csv), read_manifest(test_csv)
    keys: dict[str, int] = {}
    for line, row in enumerate(test_rows, 2):  # a test utterance's key is its file name: two alike cannot be told apart
        key = layout.key_of(row["filename"])
        if key in keys:
            raise ValueError(f"{test_csv}:{line}: file name {key!r} again (first on line {keys[key]}); the 2019 "
                             "layout keys test utterances by file name, so a test side joined from several sets "
                             "needs distinct names")
        keys[key] = line
    units = manifest_units(WORDS, train_csv)
    for folder in (layout.train_data_dir(root), layout.test_data_dir(root)):
        folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(layout.data_list_path(root)) as wavs, atomic_write(layout.train_label_path(root)) as labels:
        for line, (row, words) in enumerate(zip(train_rows, units), 2):
            key = f"r{line:06d}"
            wav = os.path.relpath(audio_path(train_csv, row), layout.train_data_dir(root))
            wavs.write(f"{wav},{key}.label\n")
            ids = vocab.encode("".join(WORDS.char_of_unit[w] for w in words))
            labels.write(f"{key},{' '.join(map(str, ids))}\n")
    with atomic_write(layout.test_list_path(root)) as wavs, atomic_write(layout.test_label_path(root)) as labels:
        for row in test_rows:
            wav = os.path.relpath(audio_path(test_csv, row), layout.test_data_dir(root))
            wavs.write(f"{wav}\n")
            labels.write(f"{layout.key_of(wav)},{row['transcription']} {row['gender']}\n")
    WORDS.write(root / "labels.txt", units)
    return len(train_rows), len(test_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder with train.csv and test.csv from ru_numbers.generate")
    args = parser.parse_args(argv)
    try:
        counts = write_layout(args.folder)
    except (ManifestError, ValueError, OSError) as err:
        return fail(PROG, err)
    print(f"{args.folder}: hackathon layout written ({counts[0]} train, {counts[1]} test utterances); add it with "
          f"nsml dataset add NAME {args.folder} --scorer exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
