"""A spoken-numbers manifest as training data for the shared loader: wav paths, unit targets, gender ids."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ru_numbers.manifest import GENDERS, ManifestError, audio_path, read_manifest
from ru_numbers.units import UnitTable, manifest_units
from speech_kit.audio import AudioError, probe
from speech_kit.dataset import TrainList
from speech_kit.vocab import Vocab


def read_numbers(manifests: str | os.PathLike | Sequence[str | os.PathLike], table: UnitTable, vocab: Vocab,
                 check_audio: bool = True) -> TrainList:
    """Rows of one manifest or several, in order -> a ``TrainList`` whose ``extra`` is the gender id (``GENDERS``
    order).

    Several manifests let one run mix data sets rendered apart (espeak-ng with pitch drawn whatever the gender beside
    a Festival set, say) without copying either. Each utterance's key is its manifest and row (``m0r000001``), so
    file names need not be unique across folders. Every file is probed first when ``check_audio``, so a missing or
    unreadable one stops training before it starts, naming the manifest line.
    """
    if isinstance(manifests, (str, os.PathLike)):
        manifests = [manifests]
    parts = [_read_one(manifest, index, table, vocab, check_audio) for index, manifest in enumerate(manifests)]
    return TrainList([p for part in parts for p in part.wav_paths], [k for part in parts for k in part.script_paths],
                     {k: v for part in parts for k, v in part.targets.items()},
                     [g for part in parts for g in part.extra])


def _read_one(manifest: str | os.PathLike, index: int, table: UnitTable, vocab: Vocab, check_audio: bool
              ) -> TrainList:
    rows = read_manifest(manifest)
    if not rows:
        raise ManifestError(f"{manifest}: no utterances listed")
    sequences = manifest_units(table, manifest)
    wav_paths, keys, genders, targets = [], [], [], {}
    for line, (row, units) in enumerate(zip(rows, sequences), 2):
        if row["gender"] not in GENDERS:
            raise ManifestError(f"{manifest}:{line}: gender must be one of {', '.join(GENDERS)}, "
                                f"got {row['gender']!r}")
        path = str(audio_path(manifest, row))
        if check_audio:
            try:
                probe(path)
            except AudioError as err:
                raise ManifestError(f"{manifest}:{line}: {err}") from None
        key = f"m{index}r{line:06d}"
        wav_paths.append(path)
        keys.append(key)
        genders.append(GENDERS.index(row["gender"]))
        targets[key] = vocab.encode("".join(table.char_of_unit[u] for u in units))
    return TrainList(wav_paths, keys, targets, genders)
