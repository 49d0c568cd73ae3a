"""Whether a WAV file holds all the bytes its header promises.

libsndfile quietly shortens a WAV whose ``data`` chunk was cut off (an interrupted copy or download) to the
frames that are there, so reading it gives no error and the recording simply ends early, out of step with its
transcript. Only the chunk sizes in the RIFF header tell: this module walks them without reading any audio.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

# Sizes that streaming writers put in a header they never went back to fill in: "unknown", not a promise.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_HEADER = 12  # "RIFF", size, "WAVE"
_CHUNK_HEADER = 8  # id, size


@dataclass(frozen=True)
class Shortfall:
    """A part of the file the header announces, ``promised`` bytes long, of which only ``present`` are there."""

    where: str
    promised: int
    present: int

    def describe(self) -> str:
        return f"truncated: the header promises {self.promised} bytes of {self.where}, only {self.present} are there"


def shortfall(path: str | os.PathLike) -> Shortfall | None:
    """The cut-off part of a RIFF/WAVE file, or None when it is whole (or not a RIFF file at all, or its sizes are
    the "unknown" values of a streamed file)."""
    with open(path, "rb") as f:
        head = f.read(_HEADER)
        if head[:4] != b"RIFF":
            return None
        if len(head) < _HEADER:
            return Shortfall("RIFF header", _HEADER, len(head))
        if head[8:12] != b"WAVE":
            return None
        size = os.fstat(f.fileno()).st_size
        position = _HEADER
        while True:
            chunk = f.read(_CHUNK_HEADER)
            if len(chunk) < _CHUNK_HEADER:
                return Shortfall("chunk header (the file ends before its audio data)", _CHUNK_HEADER, len(chunk))
            name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            position += _CHUNK_HEADER
            if name == b"data" and length in _UNKNOWN_SIZES:
                return None
            if size - position < length:
                label = "audio data" if name == b"data" else f"its {name.decode('latin-1')!r} chunk"
                return Shortfall(label, length, size - position)
            if name == b"data":
                return None
            position += length + (length & 1)  # chunks are padded to an even size
            f.seek(position)
