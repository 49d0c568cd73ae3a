"""Features computed once and kept on disk: ``CachedFeaturizer(featurizer, cache_dir)`` is called as the
``Featurizer`` it wraps (wav path -> ``(frames, bins)`` float32 tensor) and returns the same bits (or, with
``dtype=torch.bfloat16``, those bits rounded to bfloat16).

Layout: ``cache_dir/<settings digest>/<aa>/<path digest>-<size>-<mtime_ns>.npy``, one ``.npy`` per utterance.

- The settings digest covers ``FeatureConfig.to_dict()``, the entries' dtype, this cache's format and the torch
  version (the STFT's last bits may change with it), so changing any of them reads and fills another folder;
  ``settings.json`` in it says which settings it holds.
- An entry is named by the wav's real path and its size and modification time in nanoseconds, as ``make`` and
  rsync's quick check decide that a file changed. A rewritten wav therefore misses and is computed again (its
  stale entry is deleted then). A content hash was measured and rejected: it reads and hashes every wav on every
  lookup, several times the cost of a hit (``docs/performance.md``). What the key misses: a file rewritten with
  the same size within the file system's timestamp granularity (nanoseconds on ext4, xfs, tmpfs; 2 s on FAT).
- Entries are written to a temporary file beside the target and renamed over it (``speech_kit.atomic``), so two
  processes filling the same cache at once each write a whole entry and a reader never sees half of one. An
  entry that cannot be read (a crash on a file system without ordered renames) is computed and written again.
- Entries are standard ``.npy`` files (``np.load`` reads them), read with a direct parse of the header that
  ``np.save`` writes and one ``readinto`` into a fresh tensor: 12-21 us per entry against 38-89 us for ``np.load``
  and 70-114 us for ``np.load(mmap_mode=...)`` (whose page faults then come on first use), measured on the
  benchmark data. Any other header falls back to ``np.load``.

Entries are float32 by default: ``(frames, 257)`` takes 100 KiB per second of audio, about 3.2 times the 16-bit
wav. ``dtype=torch.bfloat16`` keeps them in bfloat16, for training under bf16 autocast (``main.py --precision
bf16 --feature_cache DIR``): the model's first operation, a convolution, rounds its float32 input to bfloat16
anyway, so a batch of bfloat16 features trains to the same bits (tested) while the cache holds, reads and
collates half the bytes. numpy has no bfloat16: such an entry is a ``.npy`` of ``int16``, the values' bit patterns
(``torch.from_numpy(np.load(f)).view(torch.bfloat16)`` reads one back).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import threading
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from speech_kit.atomic import atomic_write, atomic_write_text
from speech_kit.features import FeatureConfig, Featurizer

CACHE_FORMAT = 2
DTYPES = {torch.float32: "float32", torch.bfloat16: "bfloat16"}
_STORED = {torch.float32: torch.float32, torch.bfloat16: torch.int16}  # what the .npy holds for each dtype


def settings_digest(config: FeatureConfig, dtype: torch.dtype = torch.float32) -> str:
    """Name of the folder that holds features of ``config`` in ``dtype``: a digest of everything the values depend
    on."""
    return hashlib.sha256(json.dumps(_settings(config, dtype), sort_keys=True).encode()).hexdigest()[:16]


def _settings(config: FeatureConfig, dtype: torch.dtype) -> dict:
    return {"format": CACHE_FORMAT, "features": config.to_dict(), "dtype": DTYPES[dtype],
            "torch": torch.__version__.split("+")[0]}


_MAGIC = b"\x93NUMPY\x01\x00"
_HEADER = re.compile(rb"\{'descr': '<(f4|i2)', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n")
_DESCR = {b"f4": torch.float32, b"i2": torch.int16}


def _read_npy(f: BinaryIO) -> torch.Tensor | None:
    """A 2-D little-endian float32 or int16 ``.npy`` as ``np.save`` writes it, read into a new tensor; None for any
    other header (the caller falls back to ``np.load``). A truncated file raises ``EOFError``."""
    prefix = f.read(10)
    if prefix[:8] != _MAGIC:
        return None
    (header_length,) = struct.unpack("<H", prefix[8:10])
    match = _HEADER.fullmatch(f.read(header_length))
    if match is None:
        return None
    feat = torch.empty(int(match[2]), int(match[3]), dtype=_DESCR[match[1]])
    if f.readinto(feat.numpy()) != feat.numel() * feat.element_size():
        raise EOFError("truncated cache entry")
    return feat


class FeatureCache:
    """The entries of one feature configuration under ``root``; ``lookup``/``store`` by wav path."""

    def __init__(self, root: str | os.PathLike, config: FeatureConfig, dtype: torch.dtype = torch.float32):
        if dtype not in DTYPES:
            raise ValueError(f"feature cache entries are float32 or bfloat16, not {dtype}")
        self.config, self.dtype = config, dtype
        self.folder = Path(root) / settings_digest(config, dtype)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._entries: dict[tuple[str | os.PathLike, int, int], Path] = {}
        described = self.folder / "settings.json"
        if not described.exists():
            atomic_write_text(described, json.dumps(_settings(config, dtype), indent=1, sort_keys=True) + "\n")

    def entry(self, path: str | os.PathLike, stat: os.stat_result) -> Path:
        """Where the features of ``path`` (whose ``os.stat`` is ``stat``) are kept."""
        key = (path, stat.st_size, stat.st_mtime_ns)
        entry = self._entries.get(key)
        if entry is None:  # resolving the path and joining the name cost more than the rest of a hit: once
            name = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:32]
            entry = self._entries[key] = self.folder / name[:2] / f"{name}-{stat.st_size}-{stat.st_mtime_ns}.npy"
        return entry

    def lookup(self, entry: Path) -> torch.Tensor | None:
        """The cached ``(frames, bins)`` tensor in this cache's dtype, or None when absent or unreadable."""
        try:
            with open(entry, "rb") as f:
                feat = _read_npy(f)
            if feat is None:
                feat = torch.from_numpy(np.load(entry, allow_pickle=False))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):  # truncated or foreign file: recompute and overwrite it
            return None
        if feat.dtype != _STORED[self.dtype] or feat.dim() != 2:
            return None
        return feat.view(self.dtype)

    def store(self, entry: Path, feat: torch.Tensor) -> None:
        """Write ``feat`` (in this cache's dtype) atomically and delete entries of earlier versions of the wav."""
        entry.parent.mkdir(exist_ok=True)
        stored = feat.detach().cpu().contiguous().view(_STORED[self.dtype])
        with atomic_write(entry, "wb") as f:
            np.save(f, stored.numpy(), allow_pickle=False)
        prefix = entry.name.split("-", 1)[0]
        for stale in entry.parent.glob(f"{prefix}-*.npy"):
            if stale.name != entry.name:
                try:
                    stale.unlink()
                except FileNotFoundError:  # another process removed it first
                    pass


class CachedFeaturizer:
    """``featurizer`` with its results kept in ``cache_dir``: call it with a wav path as the ``Featurizer``.

    Its results are in ``dtype`` (float32 or bfloat16), hits and misses alike. Samples (arrays or tensors) are
    passed straight to ``featurizer`` (float32): without a file there is nothing to key on.
    ``hits`` and ``misses`` count lookups (safe to call from several loader threads at once).
    """

    def __init__(self, featurizer: Featurizer, cache_dir: str | os.PathLike, dtype: torch.dtype = torch.float32):
        self.featurizer = featurizer
        self.cache = FeatureCache(cache_dir, featurizer.config, dtype)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    @property
    def config(self) -> FeatureConfig:
        return self.featurizer.config

    @property
    def size(self) -> int:
        return self.featurizer.size

    def __call__(self, source: str | os.PathLike | np.ndarray | torch.Tensor) -> torch.Tensor:
        if not isinstance(source, (str, os.PathLike)):
            return self.featurizer(source)
        try:
            stat = os.stat(source)
        except OSError:  # let the featurizer name the problem (AudioError: file not found, ...)
            return self.featurizer(source)
        entry = self.cache.entry(source, stat)
        feat = self.cache.lookup(entry)
        with self._lock:
            if feat is None:
                self.misses += 1
            else:
                self.hits += 1
        if feat is not None:
            return feat
        feat = self.featurizer(source).to(self.cache.dtype)
        self.cache.store(entry, feat)
        return feat
