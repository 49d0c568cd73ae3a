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
  benchmark data.
- An entry is not trusted as it is: after the array come 8 bytes (``np.load`` ignores them), ``SKC1`` and a CRC-32
  of the array's bytes seeded with the wav's size and modification time. A valid header over NaN or zeroed data,
  an entry copied under another wav's name, a foreign ``.npy``: each fails the check, is computed again from its
  wav with a warning naming the entry, and is never blamed on the wav (a NaN entry used to stop training with
  the batch's healthy wavs named). The check costs a CRC-32 pass over the entry's bytes (about 0.1 ms for 3 s of
  audio), a fraction of the read.
- A cache that cannot be written (a full disk, a read-only folder) costs only time: the first failure is one
  warning naming the folder and why (for a full disk how much space there is and how much an entry needed), the
  half-written file is removed, and the run goes on computing features without storing them.

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
import logging
import os
import re
import struct
import threading
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from speech_kit.atomic import atomic_write, atomic_write_text
from speech_kit.features import FeatureConfig, Featurizer
from speech_kit.space import describe, is_out_of_space

log = logging.getLogger(__name__)

CACHE_FORMAT = 3  # 3: a checksum after the array
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


_FOOTER = b"SKC1"


class BadEntry(ValueError):
    """A cache entry that fails its check; the message says how."""


def _checksum(data: memoryview, stat: os.stat_result) -> int:
    """CRC-32 of an entry's array bytes, seeded with its wav's size and mtime: bytes copied under another wav's
    name fail as surely as damaged ones."""
    return zlib.crc32(data, zlib.crc32(f"{stat.st_size}-{stat.st_mtime_ns}".encode()))


def _read_npy(f: BinaryIO, stat: os.stat_result) -> torch.Tensor:
    """A 2-D little-endian float32 or int16 ``.npy`` as ``store`` writes it, read into a new tensor and checked
    against its footer; raises ``BadEntry`` for anything else (``EOFError``-like truncation included)."""
    prefix = f.read(10)
    if prefix[:8] != _MAGIC:
        raise BadEntry("not an entry of this cache (no .npy header)")
    (header_length,) = struct.unpack("<H", prefix[8:10])
    match = _HEADER.fullmatch(f.read(header_length))
    if match is None:
        raise BadEntry("not an entry of this cache (another .npy header)")
    feat = torch.empty(int(match[2]), int(match[3]), dtype=_DESCR[match[1]])
    data = memoryview(feat.numpy()).cast("B")
    if f.readinto(data) != len(data):
        raise BadEntry("truncated")
    footer = f.read(9)
    if len(footer) != 8 or footer[:4] != _FOOTER:
        raise BadEntry("no checksum after the data")
    if struct.unpack("<I", footer[4:])[0] != _checksum(data, stat):
        raise BadEntry("checksum mismatch: the data changed after it was written, or belongs to another file")
    return feat


class FeatureCache:
    """The entries of one feature configuration under ``root``; ``lookup``/``store`` by wav path.

    ``writable`` turns False at the first write that fails (logged once); lookups go on.
    """

    def __init__(self, root: str | os.PathLike, config: FeatureConfig, dtype: torch.dtype = torch.float32):
        if dtype not in DTYPES:
            raise ValueError(f"feature cache entries are float32 or bfloat16, not {dtype}")
        self.config, self.dtype = config, dtype
        self.folder = Path(root) / settings_digest(config, dtype)
        self.writable = True
        self._entries: dict[tuple[str | os.PathLike, int, int], Path] = {}
        self._lock = threading.Lock()
        described = self.folder / "settings.json"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not described.exists():
                atomic_write_text(described, json.dumps(_settings(config, dtype), indent=1, sort_keys=True) + "\n")
        except OSError as err:
            self._cannot_write(described, err, None)

    def entry(self, path: str | os.PathLike, stat: os.stat_result) -> Path:
        """Where the features of ``path`` (whose ``os.stat`` is ``stat``) are kept."""
        key = (path, stat.st_size, stat.st_mtime_ns)
        entry = self._entries.get(key)
        if entry is None:  # resolving the path and joining the name cost more than the rest of a hit: once
            name = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:32]
            entry = self._entries[key] = self.folder / name[:2] / f"{name}-{stat.st_size}-{stat.st_mtime_ns}.npy"
        return entry

    def lookup(self, entry: Path, stat: os.stat_result) -> torch.Tensor | None:
        """The cached ``(frames, bins)`` tensor in this cache's dtype, or None when absent or failing its check
        (``stat``: the wav's, which the checksum is seeded with). A bad entry is logged, and replaced when the
        features are stored again."""
        try:
            with open(entry, "rb") as f:
                feat = _read_npy(f, stat)
        except FileNotFoundError:
            return None
        except (OSError, BadEntry) as err:
            why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            log.warning("feature cache: entry %s is unusable (%s); its features are computed again from the wav",
                        entry, why)
            return None
        if feat.dtype != _STORED[self.dtype]:
            log.warning("feature cache: entry %s holds %s, not %s; its features are computed again from the wav",
                        entry, feat.dtype, self.dtype)
            return None
        return feat.view(self.dtype)

    def store(self, entry: Path, feat: torch.Tensor, stat: os.stat_result) -> bool:
        """Write ``feat`` (in this cache's dtype) atomically with its checksum and delete entries of earlier
        versions of the wav; False (and a warning the first time) when the cache cannot be written."""
        if not self.writable:
            return False
        stored = feat.detach().cpu().contiguous().view(_STORED[self.dtype]).numpy()
        try:
            entry.parent.mkdir(exist_ok=True)
            with atomic_write(entry, "wb") as f:  # a failed write removes its temporary file
                np.save(f, stored, allow_pickle=False)
                f.write(_FOOTER + struct.pack("<I", _checksum(memoryview(stored).cast("B"), stat)))
        except OSError as err:
            self._cannot_write(entry, err, stored.nbytes + 128)
            return False
        prefix = entry.name.split("-", 1)[0]
        for stale in entry.parent.glob(f"{prefix}-*.npy"):
            if stale.name != entry.name:
                try:
                    stale.unlink()
                except OSError:  # another process removed it first, or the folder is read-only
                    pass
        return True

    def _cannot_write(self, path: Path, err: OSError, needed: int | None) -> None:
        with self._lock:
            if not self.writable:
                return
            self.writable = False
        why = describe(path.parent, needed) if is_out_of_space(err) else (err.strerror or str(err))
        log.warning("feature cache: cannot write %s (%s); the run goes on computing features without storing "
                    "them", self.folder, why)


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
        feat = self.cache.lookup(entry, stat)
        with self._lock:
            if feat is None:
                self.misses += 1
            else:
                self.hits += 1
        if feat is not None:
            return feat
        feat = self.featurizer(source).to(self.cache.dtype)
        self.cache.store(entry, feat, stat)
        return feat
