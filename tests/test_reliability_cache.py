"""The feature cache against damaged entries and disks it cannot write: a bad entry is computed again from its
wav with a warning (never blamed on the wav), and a full or read-only cache costs only time (one warning, the run
goes on uncached, no half-written file left)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from corrupt_support import file_size_limit, mount_small_disk, tone, write
from test_reliability_main import TINY, run_main

from speech_kit.feature_cache import CachedFeaturizer
from speech_kit.features import Featurizer


def entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.npy"))


def overwrite_data(entry: Path, fill: float) -> None:
    """Keep the entry's header and checksum, set every value of its array to ``fill``: a valid header over bad
    data, as a flipped disk block or a careless tool leaves it."""
    array = np.load(entry)
    raw = entry.read_bytes()
    start = raw.index(b"\n") + 1  # the .npy header ends with a newline
    entry.write_bytes(raw[:start] + np.full_like(array, fill).tobytes() + raw[start + array.nbytes:])


@pytest.fixture
def wavs(tmp_path: Path) -> list[Path]:
    (tmp_path / "wavs").mkdir()
    return [write(tmp_path / "wavs" / f"w{i}.wav", tone(0.5 + 0.25 * i, seed=i)) for i in range(3)]


@pytest.mark.parametrize("fill", [float("nan"), 0.0], ids=["nan", "zeros"])
def test_an_entry_with_a_valid_header_and_bad_data_is_computed_again(tmp_path, wavs, fill, caplog):
    cache = tmp_path / "cache"
    fresh = [CachedFeaturizer(Featurizer(), cache)(w) for w in wavs]
    written = {e: e.read_bytes() for e in entries(cache)}
    for entry in written:
        overwrite_data(entry, fill)
    cached = CachedFeaturizer(Featurizer(), cache)
    with caplog.at_level(logging.WARNING, logger="speech_kit.feature_cache"):
        again = [cached(w) for w in wavs]
    assert all(torch.equal(a, f) for a, f in zip(again, fresh))
    assert cached.misses == 3 and cached.hits == 0
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3 and all("checksum mismatch" in m and "computed again from the wav" in m for m in warned)
    assert {e: e.read_bytes() for e in entries(cache)} == written  # rebuilt as they were
    assert all(torch.equal(cached(w), f) for w, f in zip(wavs, fresh)) and cached.hits == 3


def test_an_entry_copied_under_another_wavs_name_is_not_trusted(tmp_path, wavs):
    cache = tmp_path / "cache"
    cached = CachedFeaturizer(Featurizer(), cache)
    fresh = [cached(w) for w in wavs[:2]]
    first, second = (cached.cache.entry(w, os.stat(w)) for w in wavs[:2])
    second.write_bytes(first.read_bytes())
    reader = CachedFeaturizer(Featurizer(), cache)
    assert torch.equal(reader(wavs[1]), fresh[1]) and reader.misses == 1


@pytest.mark.slow
def test_training_on_nan_entries_rebuilds_them_instead_of_blaming_the_wavs(tiny_dataset, tmp_path):
    """Before: 'the loss is nan in epoch 1 batch 1/1 (wav_000.wav, ... 8 healthy wavs)', exit 2."""
    cache = tmp_path / "features"
    first = run_main([*TINY, "--feature_cache", str(cache)], tmp_path / "ckpt1", tiny_dataset, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    for entry in entries(cache):
        overwrite_data(entry, float("nan"))
    done = run_main([*TINY, "--feature_cache", str(cache)], tmp_path / "ckpt2", tiny_dataset, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("checksum mismatch") == len(entries(cache)) > 0
    assert "loss is nan" not in done.stderr and "Traceback" not in done.stderr
    assert all(np.isfinite(np.load(e)).all() for e in entries(cache))


def _cache_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "feature cache: cannot write" in line]


@pytest.mark.slow
def test_a_full_disk_under_the_cache_trains_uncached_with_one_warning(tiny_dataset, tmp_path):
    cache = tmp_path / "small"
    unmount = mount_small_disk(cache, "96k")
    if unmount is None:
        pytest.skip("mounting a small tmpfs is not permitted here (needs root or CAP_SYS_ADMIN); "
                    "test_a_file_size_limit_on_the_cache_is_one_warning covers a full disk with RLIMIT_FSIZE")
    try:
        done = run_main([*TINY, "--feature_cache", str(cache)], tmp_path / "ckpt", tiny_dataset, tmp_path)
        leftovers = list(cache.rglob("*.tmp"))
    finally:
        unmount()
    assert done.returncode == 0, done.stderr[-3000:]
    warned = _cache_warnings(done.stderr)
    assert len(warned) == 1 and "no space left on the disk holding" in warned[0] and "KiB needed" in warned[0]
    assert "the run goes on computing features without storing them" in warned[0]
    assert "Traceback" not in done.stderr and leftovers == []


@pytest.mark.slow
def test_a_read_only_cache_trains_uncached_with_one_warning(tiny_dataset, tmp_path):
    cache = tmp_path / "readonly"
    unmount = mount_small_disk(cache, "1m", read_only=True)
    if unmount is None:
        if os.geteuid() == 0:
            pytest.skip("mounting a read-only tmpfs is not permitted here, and root ignores folder permissions")
        cache.chmod(0o555)
    try:
        done = run_main([*TINY, "--feature_cache", str(cache)], tmp_path / "ckpt", tiny_dataset, tmp_path)
    finally:
        if unmount is not None:
            unmount()
    assert done.returncode == 0, done.stderr[-3000:]
    warned = _cache_warnings(done.stderr)
    assert len(warned) == 1 and ("Read-only file system" in warned[0] or "Permission denied" in warned[0])
    assert "Traceback" not in done.stderr


FILL = textwrap.dedent("""
    import logging, sys
    import torch
    from speech_kit.feature_cache import CachedFeaturizer
    from speech_kit.features import Featurizer
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    cached = CachedFeaturizer(Featurizer(), sys.argv[1])
    for path in sys.argv[2:]:
        assert torch.equal(cached(path), Featurizer()(path))
    print("computed", cached.misses)
""")


def test_a_file_size_limit_on_the_cache_is_one_warning(tmp_path, wavs):
    """A full disk without mounting one: every file the process writes is capped (EFBIG), so each entry fails."""
    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, "-c", FILL, str(cache), *map(str, wavs)], capture_output=True, text=True,
                          timeout=120, preexec_fn=file_size_limit(4096), cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "computed 3"
    warned = _cache_warnings(done.stderr)
    assert len(warned) == 1 and "no space left on the disk holding" in warned[0] and "Traceback" not in done.stderr
    assert entries(cache) == [] and list(cache.rglob("*.tmp")) == []
