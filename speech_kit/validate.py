"""The one validation pass over a dataset in the hackathon layout: every list and label line, every listed file read
once, every problem counted by kind with the first few ``FILE:LINE`` occurrences.

``nsml dataset check``, ``nsml dataset add``, ``loader.read_train_list`` and the start of every ``main.py`` training
run use this pass, so a file is judged the same way everywhere. It never stops at the first problem: a training
run that fails shows all of them at once, and ``--on_bad_sample skip`` trains on exactly the entries it found
usable. Audio facts are cached by file identity (``speech_kit.scan_cache``), so a second start reads only
changed files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from speech_kit import layout
from speech_kit.audio import MAX_PEAK, MIN_SAMPLES, SAMPLE_RATE, loudness_error
from speech_kit.audio_scan import EMPTY, MISSING, NOT_REGULAR, OK, TRUNCATED, UNREADABLE, AudioFacts, file_state, scan
from speech_kit.findings import ERROR, Entry, Report
from speech_kit.scan_cache import ScanCache, default_cache_path
from speech_kit.vocab import Vocab

SPLITS = ("train", "test")
CLIPPED_FRACTION = 0.001  # more than 0.1 % of samples at full scale: clipped (a few peaks touching it are not)
SILENT_PEAK = 4 / 32768  # loudest sample below 4 steps of 16-bit audio: digital silence, at most dither
TRAIN_LIST_LINE = "<wav-file>,<script-file>"
TRAIN_LABEL_LINE = "<key>,<label ids separated by spaces>"
_DEFAULT = object()

_STATUS_KINDS = {MISSING: "missing", NOT_REGULAR: "not_regular", UNREADABLE: "unreadable", TRUNCATED: "truncated",
                 EMPTY: "too_short"}


def check_dataset(root: str | os.PathLike, vocab: Vocab | None = None, splits: Sequence[str] = SPLITS,
                  max_seconds: float | None = None, cache_path: Path | None | object = _DEFAULT) -> Report:
    """Check ``splits`` of the dataset at ``root``.

    ``vocab`` (the dataset's label table) lets label ids and test transcripts be checked against it; without one
    they are not, and the report says so. ``max_seconds`` is the longest training utterance a run accepts (None:
    durations are not checked). ``cache_path`` defaults to ``scan_cache.default_cache_path()``; None: no cache.
    """
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; known: {', '.join(SPLITS)}")
    report = Report(str(root), tuple(splits))
    path = default_cache_path() if cache_path is _DEFAULT else cache_path
    assert path is None or isinstance(path, Path)
    with ScanCache.open(path) as cache:
        reader = _AudioReader(cache, report)
        if "train" in splits:
            _check_train(Path(root), vocab, max_seconds, reader, report)
        if "test" in splits:
            _check_test(Path(root), vocab, reader, report)
        report.audio_cached = cache.hits
    if vocab is None:
        report.notes.append("labels: not checked against a label table (none given): a train_label line is read "
                            "as '<key>,<label>'")
    else:
        report.notes.append(f"labels: checked against {vocab.source} ({len(vocab)} labels)")
    if "train" in splits:
        report.notes.append("durations: not checked against a memory budget" if max_seconds is None
                            else f"durations: training utterances of at most {max_seconds:g} s accepted")
    return report


class _AudioReader:
    """Facts of each file, from the cache when the file is unchanged, else from one read (then cached)."""

    def __init__(self, cache: ScanCache, report: Report):
        self.cache, self.report = cache, report
        self.seen: dict[str, AudioFacts] = {}  # a file listed twice is still read once

    def facts(self, path: str) -> AudioFacts:
        if path in self.seen:
            return self.seen[path]
        state = file_state(path)
        if isinstance(state, AudioFacts):
            return state
        known = self.cache.get(path, state)
        if known is None:
            known = scan(path)
            self.report.audio_read += 1
            self.cache.put(path, state, known)
        self.seen[path] = known
        return known


def _lines(path: Path, what: str, report: Report) -> list[tuple[int, str]] | None:
    """Non-blank lines of a list or label file, or None (with a finding) when it cannot be read as text."""
    try:
        return [(n, line) for n, line in layout.read_lines(path, what) if line.strip()]
    except layout.DatasetError as error:
        report.add("list_unreadable", str(path), None, str(error).removeprefix(f"{path}: "))
        return None


def audio_findings(facts: AudioFacts, wav: str, max_seconds: float | None) -> list[tuple[str, str]]:
    """``(kind, detail)`` of what is wrong with one file's audio: its errors, or else its warnings (a file that is
    left out anyway needs no note that it would have been converted)."""
    if facts.status != OK:
        return [(_STATUS_KINDS[facts.status], f"{wav}: {facts.detail}")]
    found = []
    if facts.samples_16k < MIN_SAMPLES:
        found.append(("too_short", f"{wav}: too short ({facts.frames} samples at {facts.rate} Hz); a spectrogram "
                                   f"needs at least {MIN_SAMPLES} samples at {SAMPLE_RATE} Hz"))
    if facts.non_finite:
        found.append(("non_finite", f"{wav}: {facts.non_finite} samples are NaN or infinite (first at "
                                    f"{facts.first_non_finite / facts.rate:.2f} s)"))
    if facts.peak > MAX_PEAK:
        found.append(("out_of_range", str(loudness_error(wav, facts.peak))))
    if max_seconds is not None and facts.seconds > max_seconds:
        found.append(("too_long", f"{wav}: {facts.seconds:.1f} s is longer than --max_duration {max_seconds:g} s"))
    if found:
        return found
    total = facts.frames * facts.channels
    if total and facts.clipped / total > CLIPPED_FRACTION:
        found.append(("clipped", f"{wav}: {100 * facts.clipped / total:.1f}% of samples at full scale"))
    if facts.peak < SILENT_PEAK:
        found.append(("silent", f"{wav}: silent (loudest sample {facts.peak * 32768:.1f} of 32768)"))
    info = facts.info(wav)
    if info.needs_conversion:
        found.append(("converted", f"{wav}: {info.describe()}"))
    return found


def _check_train(root: Path, vocab: Vocab | None, max_seconds: float | None, reader: _AudioReader,
                 report: Report) -> None:
    label_path = layout.train_label_path(root)
    labels = _train_labels(label_path, vocab, report)
    labels_unreadable = labels is None
    good_keys, bad_keys = labels if labels is not None else (set(), {})
    list_path = layout.data_list_path(root)
    lines = _lines(list_path, f"lines '{TRAIN_LIST_LINE}'", report)
    if lines is None:
        return
    data_dir = layout.train_data_dir(root)
    seen: dict[str, int] = {}
    for lineno, line in lines:
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 2 or not all(parts):
            report.add("bad_fields", str(list_path), lineno, f"expected '{TRAIN_LIST_LINE}', got {line!r}")
            continue
        report.listed += 1
        wav, script = str(data_dir / parts[0]), str(data_dir / parts[1])
        entry = Entry(str(list_path), lineno, wav, script, layout.key_of(parts[1]))
        report.train.append(entry)
        if wav in seen:
            finding = report.add("duplicate_key", str(list_path), lineno,
                                 f"{parts[0]} is listed twice (first on line {seen[wav]})")
            entry.reasons.append(finding.detail)
        seen.setdefault(wav, lineno)
        if labels_unreadable:
            entry.reasons.append(f"{label_path} cannot be read")
        elif entry.key in bad_keys:
            entry.reasons.append(bad_keys[entry.key])
        elif entry.key not in good_keys:
            finding = report.add("label_missing", str(list_path), lineno,
                                 f"key {entry.key!r} of {parts[1]!r} has no line in {label_path}")
            entry.reasons.append(finding.detail)
        facts = reader.facts(wav)
        if facts.status == OK:
            entry.audio = facts.info(wav)
        for kind, detail in audio_findings(facts, parts[0], max_seconds):
            finding = report.add(kind, str(list_path), lineno, detail)
            if finding.severity == ERROR:
                entry.reasons.append(detail)
    if not lines:
        report.add("bad_fields", str(list_path), None, "no utterances listed")


def _train_labels(path: Path, vocab: Vocab | None, report: Report) -> tuple[set[str], dict[str, str]] | None:
    """The good keys of ``train_label`` and the bad ones with their reason (None: the file cannot be read).

    With a label table each line must be ``<key>,<ids>`` with integer ids inside the table, and
    ``report.targets`` receives them. Without one the platform cannot know what a label holds (the hackathon's
    ids, or a task's own text), so a line only needs a key, a comma and a key of its own.
    """
    lines = _lines(path, f"lines '{TRAIN_LABEL_LINE}'", report)
    if lines is None:
        return None
    good: set[str] = set()
    bad: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for lineno, line in lines:
        key, comma, value = (part.strip() for part in line.partition(","))

        def flag(kind: str, detail: str, key: str = key, lineno: int = lineno) -> None:
            report.add(kind, str(path), lineno, detail)
            bad.setdefault(key, f"{path}:{lineno}: {detail}")
            good.discard(key)
            report.targets.pop(key, None)

        if not comma or not key or (vocab is not None and "," in value):
            report.add("bad_fields", str(path), lineno, f"expected '{TRAIN_LABEL_LINE}', got {line!r}")
            continue
        if key in first_line:
            flag("duplicate_key", f"key {key!r} appears twice (first on line {first_line[key]}): its label is "
                                  f"ambiguous")
            continue
        first_line[key] = lineno
        if vocab is None:
            good.add(key)
            continue
        try:
            ids = [int(token) for token in value.split()]
        except ValueError:
            flag("label_invalid", f"label ids must be integers, got {value!r}")
            continue
        if not ids:
            flag("label_invalid", f"key {key!r} has no label ids")
            continue
        outside = [i for i in ids if not 0 <= i < len(vocab)]
        if outside:
            flag("label_out_of_range", f"label id {outside[0]} is outside the label table {vocab.source} "
                                       f"(ids 0..{len(vocab) - 1})")
            continue
        good.add(key)
        report.targets[key] = ids
    return good, bad


def _check_test(root: Path, vocab: Vocab | None, reader: _AudioReader, report: Report) -> None:
    label_path = layout.test_label_path(root)
    references = _test_labels(label_path, vocab, report)
    list_path = layout.test_list_path(root)
    lines = _lines(list_path, "one wav file name per line", report)
    if lines is None:
        return
    data_dir = layout.test_data_dir(root)
    seen: dict[str, int] = {}
    for lineno, line in lines:
        parts = [part.strip() for part in line.strip().split(",")]
        if len(parts) > 2 or not parts[0]:
            report.add("bad_fields", str(list_path), lineno, f"expected a wav file name, got {line!r}")
            continue
        report.listed += 1
        if parts[0] in seen:
            report.add("duplicate_key", str(list_path), lineno,
                       f"{parts[0]} is listed twice (first on line {seen[parts[0]]})")
        seen.setdefault(parts[0], lineno)
        key = layout.key_of(parts[0])
        if references is not None and key not in references:
            report.add("label_missing", str(list_path), lineno, f"key {key!r} of {parts[0]!r} has no line in "
                                                                f"{label_path}")
        wav = str(data_dir / parts[0])
        for kind, detail in audio_findings(reader.facts(wav), parts[0], None):
            report.add(kind, str(list_path), lineno, detail)


def _test_labels(path: Path, vocab: Vocab | None, report: Report) -> set[str] | None:
    """The keys of ``test_label`` (None when it cannot be read), reporting malformed and duplicate lines and, with
    a table, transcripts the table cannot spell."""
    lines = _lines(path, "lines '<key>,<transcript text>'", report)
    if lines is None:
        return None
    keys: dict[str, int] = {}
    for lineno, line in lines:
        key, comma, text = line.partition(",")
        if not comma or not key.strip():
            report.add("bad_fields", str(path), lineno, f"expected '<key>,<transcript text>', got {line!r}")
            continue
        key = key.strip()
        if key in keys:
            report.add("duplicate_key", str(path), lineno, f"key {key!r} appears twice (first on line {keys[key]})")
            continue
        keys[key] = lineno
        if vocab is not None:
            outside = sorted({c for c in text.strip() if c not in vocab.char2index})
            if outside:
                report.add("text_outside_table", str(path), lineno,
                           f"{key}: {', '.join(map(repr, outside[:5]))} not in {vocab.source}")
    return set(keys)


