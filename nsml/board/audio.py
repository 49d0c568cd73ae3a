"""The test utterances a board may play: exactly the wav files a dataset's test list names, nothing else.

A submission page plays each utterance beside its aligned hypothesis. The address names the dataset and the
utterance's key, and the key is only ever looked up in the map built here from ``test_list.csv``: no part of a URL
becomes part of a path, so ``../`` or an absolute path in it finds nothing. A list line that itself leads out of
``test/test_data`` (a ``../`` or a link pointing elsewhere) is left out of the map too.
"""

from __future__ import annotations

from pathlib import Path

from speech_kit import layout


def test_wavs(root: Path) -> dict[str, Path]:
    """{key: wav path} of the test list of the dataset at ``root``; empty when it has no readable test list."""
    folder = layout.test_data_dir(root)
    try:
        entries = layout.read_wav_list(layout.test_list_path(root))
        inside = folder.resolve(strict=True)
    except (OSError, layout.DatasetError):
        return {}
    found = {}
    for entry in entries:
        path = folder / entry.first
        try:
            resolved = path.resolve(strict=True)
        except OSError:  # listed but missing (or a link loop): nothing to play
            continue
        if resolved.is_relative_to(inside) and resolved.is_file():
            found[layout.key_of(entry.first)] = resolved
    return found
