"""The text files of a synthetic dataset: the hackathon's lists and labels, plus our manifest and README.

```
ROOT/train/train_data/data_list.csv   <name>.wav,<name>.label        (no .label files exist, as in 2019)
ROOT/train/train_label                <name>,<label ids separated by spaces>
ROOT/test/test_data/test_list.csv     <name>.wav                     (one file name per line, the 2019 form)
ROOT/test/test_label                  <name>,<transcript text>
ROOT/labels.txt                       the label table the ids of train_label refer to
ROOT/manifest.tsv                     every utterance's text, source and rendering parameters
ROOT/README                           what this is and the command that made it
```
The paths come from ``speech_kit.layout``, which the kit's readers use too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from corpus.plan import Utterance
from speech_kit.atomic import atomic_write
from speech_kit.layout import data_list_path, test_label_path, test_list_path, train_label_path
from speech_kit.synth.manifest import read_table, write_table
from speech_kit.vocab import Vocab

LABELS_FILE = "labels.txt"
MANIFEST = "manifest.tsv"
EFFECTS_COLUMN = "effects"  # written only when some utterance is augmented (corpus.plan.Augmentation.describe)
MANIFEST_COLUMNS = ("name", "split", "source", "voice", "gender", "speed", "pitch", "lead_s", "trail_s", "level_db",
                    "noise", "snr_db", "seconds", "text")


def write_lists(root: str | os.PathLike, utterances: Sequence[Utterance], vocab: Vocab) -> None:
    """The two lists and the two label files, in plan order."""
    train = [u for u in utterances if u.split == "train"]
    test = [u for u in utterances if u.split == "test"]
    with atomic_write(data_list_path(root)) as f:
        f.writelines(f"{u.name}.wav,{u.name}.label\n" for u in train)
    with atomic_write(train_label_path(root)) as f:
        f.writelines(f"{u.name},{' '.join(map(str, vocab.encode(u.text)))}\n" for u in train)
    with atomic_write(test_list_path(root)) as f:
        f.writelines(f"{u.name}.wav\n" for u in test)
    with atomic_write(test_label_path(root)) as f:
        f.writelines(f"{u.name},{u.text}\n" for u in test)


def manifest_row(utt: Utterance, seconds: float) -> tuple[str, ...]:
    """One manifest line's fields; an utterance without noise has an empty SNR."""
    snr = "" if utt.snr_db is None else f"{utt.snr_db:.1f}"
    return (utt.name, utt.split, utt.source, utt.variant, utt.gender, str(utt.speed), str(utt.pitch),
            f"{utt.lead_s:.3f}", f"{utt.trail_s:.3f}", f"{utt.level_db:.1f}", utt.noise, snr, f"{seconds:.3f}",
            utt.text)


def write_manifest(root: str | os.PathLike, utterances: Sequence[Utterance], seconds: Mapping[str, float]) -> None:
    """``root/manifest.tsv``: a header line, then one tab-separated line per utterance, in plan order."""
    rows = [dict(zip(MANIFEST_COLUMNS, manifest_row(u, seconds[u.name]), strict=True)) for u in utterances]
    columns = MANIFEST_COLUMNS
    if any(u.augment for u in utterances):  # a dataset without augmentation keeps the manifest it always had
        columns = (*MANIFEST_COLUMNS, EFFECTS_COLUMN)
        for row, utt in zip(rows, utterances, strict=True):
            row[EFFECTS_COLUMN] = utt.augment.describe()
    write_table(Path(root) / MANIFEST, columns, rows, delimiter="\t")


def read_manifest(root: str | os.PathLike) -> list[dict[str, str]]:
    """The manifest as one dict per utterance, keyed by ``MANIFEST_COLUMNS``; a ``ManifestError`` names the file
    and line of a damaged one."""
    return read_table(Path(root) / MANIFEST, MANIFEST_COLUMNS, delimiter="\t")


def write_readme(root: str | os.PathLike, command: str, labels_origin: str) -> None:
    with atomic_write(Path(root) / "README") as f:
        f.write(
            "Synthetic Korean speech in the layout of NAVER's 2019 speech hackathon; it is NOT NAVER's data.\n"
            "Voices: espeak-ng Korean voice variants, padded with silence, some mixed with white, pink or brown\n"
            "noise from sox, written as 16 kHz 16-bit mono PCM WAV.\n"
            f"Label ids in train/train_label refer to the label table {LABELS_FILE} ({labels_origin}).\n"
            f"{MANIFEST} lists the text, its source, voice, speed, pitch, silences, level, noise, SNR and duration\n"
            "of every utterance.\n"
            f"Made with:\n    {command}\n"
        )
