"""The hostile-input battery against the one validation pass (speech_kit.validate): every corrupted file and list
line generated here gets the outcome docs/reliability.md documents, reported with its file and line."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from corrupt_support import AUDIO_CASES, Case, tone, write

from label_loader import Vocab
from loader import read_train_list
from models import DecodingOptions, ModelConfig, build_model
from models.transcribe import transcribe
from speech_kit.audio import AudioError, probe, read_audio
from speech_kit.findings import ERROR, KINDS, exclusion_table
from speech_kit.layout import DatasetError, read_lines
from speech_kit.validate import check_dataset

TEXTS = ["안녕하세요", "감사합니다", "네 맞습니다", "잠시만요"]


@pytest.fixture(autouse=True)
def no_hang():
    """A check that opened a FIFO would wait forever: fail after 60 s instead."""
    def expired(signum, frame):
        raise TimeoutError("the check hung (did it open a FIFO?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def build(root: Path, vocab: Vocab, replace: dict[int, Case] | None = None) -> Path:
    """Four training and two test utterances of good audio; ``replace[i]`` makes training file i a broken one."""
    train, test = root / "train" / "train_data", root / "test" / "test_data"
    train.mkdir(parents=True)
    test.mkdir(parents=True)
    for i in range(len(TEXTS)):
        path = train / f"u{i}.wav"
        if replace and i in replace:
            replace[i].make(path)
        else:
            write(path, tone(1.0 + 0.1 * i, seed=i))
    (train / "data_list.csv").write_text("".join(f"u{i}.wav,u{i}.label\n" for i in range(len(TEXTS))))
    (root / "train" / "train_label").write_text(
        "".join(f"u{i}," + " ".join(map(str, vocab.encode(t))) + "\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
    for i in range(2):
        write(test / f"t{i}.wav", tone(1.0, seed=10 + i))
    (test / "test_list.csv").write_text("t0.wav\nt1.wav\n")
    (root / "test" / "test_label").write_text(f"t0,{TEXTS[0]}\nt1,{TEXTS[1]}\n", encoding="utf-8")
    return root


def kinds_at(report, file_name: str, line: int | None) -> set[str]:
    return {f.kind for f in report.findings if f.file.endswith(file_name) and f.line == line}


@pytest.mark.parametrize("case", AUDIO_CASES, ids=str)
def test_each_broken_file_is_reported_with_its_line(tmp_path, vocab, case):
    root = build(tmp_path / "ds", vocab, {2: case})
    report = check_dataset(root, vocab, cache_path=tmp_path / "cache.sqlite")
    assert kinds_at(report, "data_list.csv", 3) == ({case.kind} if case.kind else set()), report.format()
    assert [f for f in report.findings if f.line != 3] == []  # nothing else is blamed
    assert [e.line for e in report.usable()] == ([1, 2, 3, 4] if case.usable else [1, 2, 4])
    if not case.usable:
        finding = report.first_error()
        assert str(finding).startswith(f"{root}/train/train_data/data_list.csv:3: u2.wav: ")


@pytest.mark.parametrize("case", AUDIO_CASES, ids=str)
def test_reading_agrees_with_the_check(tmp_path, case):
    """What the check calls unusable, reading refuses with a one-line AudioError (a FIFO without blocking), except
    a cut-off data chunk, which reads as the audio that is there (the transcriber hears what was recorded); what
    the check accepts is read as 16 kHz mono on the 16-bit scale, with finite samples."""
    path = case.make(tmp_path / "x.wav")
    if case.usable or case.name == "truncated data":
        samples = read_audio(path)
        expected = 16000 if case.usable else 7989
        assert samples.ndim == 1 and np.isfinite(samples).all() and abs(len(samples) - expected) <= 1
        return
    with pytest.raises(AudioError, match=r"x\.wav: ") as raised:
        read_audio(path)
    assert "\n" not in str(raised.value)


def test_a_fifo_and_nan_audio_are_refused_before_any_read(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioError, match="not a regular file .a FIFO"):
        probe(fifo)
    nan = AUDIO_CASES[9].make(tmp_path / "nan.wav")
    with pytest.raises(AudioError, match=r"10 samples are NaN or infinite \(first at 0.25 s\)"):
        read_audio(nan)


def test_the_transcriber_names_nan_audio_and_keeps_the_other_transcripts(tmp_path, vocab):
    """NaN, Inf, unreadable and missing files among good ones: each gets an empty transcript and one error naming
    it, in one process and across forked workers; the good files' transcripts are what they are alone."""
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=257,
                         hidden_size=8, layer_size=1, bidirectional=False, use_attention=True, decoder=True, ctc=False)
    model = build_model(config).eval()
    good = [str(write(tmp_path / f"good{i}.wav", tone(1.0 + 0.2 * i, seed=i))) for i in range(3)]
    bad = {"nan": next(c for c in AUDIO_CASES if c.name.startswith("NaN")).make(tmp_path / "nan.wav"),
           "inf": next(c for c in AUDIO_CASES if c.name.startswith("Inf")).make(tmp_path / "inf.wav"),
           "random": next(c for c in AUDIO_CASES if c.kind == "unreadable").make(tmp_path / "random.wav"),
           "missing": tmp_path / "missing.wav"}
    alone = transcribe(model, vocab, good, DecodingOptions(max_len=3), processes=1)
    paths = [good[0], str(bad["nan"]), good[1], str(bad["inf"]), str(bad["random"]), good[2], str(bad["missing"])]
    for processes, batch_size in ((1, 32), (2, 2), (2, 1)):
        errors: dict[int, str] = {}
        texts = transcribe(model, vocab, paths, DecodingOptions(max_len=3), batch_size=batch_size,
                           processes=processes, on_error=errors.__setitem__)
        assert [texts[i] for i in (0, 2, 5)] == alone and [texts[i] for i in (1, 3, 4, 6)] == [""] * 4
        assert sorted(errors) == [1, 3, 4, 6]
        assert errors[1].startswith(f"{bad['nan']}: 10 samples are NaN or infinite")
        assert errors[3].startswith(f"{bad['inf']}: ") and "NaN or infinite" in errors[3]
        assert errors[4].startswith(f"{bad['random']}: not a readable audio file")
        assert errors[6] == f"{bad['missing']}: audio file not found"
    with pytest.raises(AudioError):  # reading the file directly still refuses it
        read_audio(bad["nan"])


def _edit(path: Path, old: str, new: str) -> None:
    path.write_bytes(path.read_bytes().replace(old.encode(), new.encode(), 1))


LIST_CASES = [
    ("extra comma in data_list", lambda r, v: _edit(r / "train/train_data/data_list.csv", "u1.label", "u1.label,x"),
     "data_list.csv", 2, "bad_fields"),
    ("no comma in data_list", lambda r, v: _edit(r / "train/train_data/data_list.csv", "u1.wav,", "u1.wav "),
     "data_list.csv", 2, "bad_fields"),
    ("same wav listed twice", lambda r, v: _edit(r / "train/train_data/data_list.csv", "u1.wav", "u0.wav"),
     "data_list.csv", 2, "duplicate_key"),
    ("label id out of range", lambda r, v: _edit(r / "train/train_label", "u1,", "u1,99999 "),
     "train_label", 2, "label_out_of_range"),
    ("label ids not integers", lambda r, v: _edit(r / "train/train_label", "u1,", "u1,x"),
     "train_label", 2, "label_invalid"),
    ("label key twice", lambda r, v: _edit(r / "train/train_label", "u1,", "u0,"), "train_label", 2,
     "duplicate_key"),
    ("key without label line", lambda r, v: _edit(r / "train/train_label", "u3,", "zz,"), "data_list.csv", 4,
     "label_missing"),
    ("cp949 train_label", lambda r, v: (r / "train/train_label").write_bytes("u0,안녕\n".encode("cp949")),
     "train_label", None, "list_unreadable"),
    ("test text outside the table", lambda r, v: _edit(r / "test/test_label", "t1,", "t1,ABC "), "test_label", 2,
     "text_outside_table"),
    ("extra commas in test_list", lambda r, v: _edit(r / "test/test_data/test_list.csv", "t1.wav", "t1.wav,a,b"),
     "test_list.csv", 2, "bad_fields"),
    ("test wav listed twice", lambda r, v: _edit(r / "test/test_data/test_list.csv", "t1.wav", "t0.wav"),
     "test_list.csv", 2, "duplicate_key"),
]


@pytest.mark.parametrize("name, change, file_name, line, kind", LIST_CASES, ids=[c[0] for c in LIST_CASES])
def test_each_broken_line_is_reported_with_its_line(tmp_path, vocab, name, change, file_name, line, kind):
    root = build(tmp_path / "ds", vocab)
    change(root, vocab)
    report = check_dataset(root, vocab, cache_path=None)
    assert kind in kinds_at(report, file_name, line), report.format()


def test_label_lines_are_only_structure_checked_without_a_table(tmp_path, vocab):
    """The platform serves other tasks too (text labels, digits): without a table ids are not demanded."""
    root = build(tmp_path / "ds", vocab)
    (root / "train" / "train_label").write_text("".join(f"u{i},{t}\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
    assert check_dataset(root, None, cache_path=None).findings == []
    assert {f.kind for f in check_dataset(root, vocab, cache_path=None).findings} == {"label_invalid"}


@pytest.mark.parametrize("prefix, newline", [("\ufeff", "\n"), ("", "\r\n"), ("\ufeff", "\r\n")])
def test_bom_and_crlf_lists_are_accepted(tmp_path, vocab, prefix, newline):
    root = build(tmp_path / "ds", vocab)
    for path in (root / "train/train_data/data_list.csv", root / "train/train_label",
                 root / "test/test_data/test_list.csv", root / "test/test_label"):
        text = path.read_text(encoding="utf-8")
        path.write_bytes((prefix + text.replace("\n", newline)).encode("utf-8"))
    report = check_dataset(root, vocab, cache_path=None)
    assert report.findings == [] and len(report.usable()) == 4
    assert read_train_list(str(root), vocab).targets["u0"] == vocab.encode(TEXTS[0])


def test_a_ten_minute_file_is_too_long_for_a_budget_and_read_in_flat_memory(tmp_path, vocab):
    long = Case("10 minutes", lambda p: write(p, tone(600.0)), "too_long", False)
    root = build(tmp_path / "ds", vocab, {1: long})
    report = check_dataset(root, vocab, max_seconds=60, cache_path=None)
    assert kinds_at(report, "data_list.csv", 2) == {"too_long"}
    assert "u1.wav: 600.0 s is longer than --max_duration 60 s" in str(report.first_error())
    assert check_dataset(root, vocab, cache_path=None).findings == []  # no budget given: nothing to say


def test_all_problems_are_counted_with_the_first_few_shown(tmp_path, vocab):
    root = build(tmp_path / "ds", vocab, {0: AUDIO_CASES[9], 1: AUDIO_CASES[10], 2: AUDIO_CASES[1], 3: AUDIO_CASES[17]})
    _edit(root / "train/train_label", "u0,", "u0,77777 ")
    report = check_dataset(root, vocab, cache_path=None)
    text = "\n".join(report.format(examples=1))
    assert "error: NaN or infinite samples: 2\n" in text and "  ... and 1 more" in text
    assert "error: truncated audio: 1" in text and "warning: clipped audio: 1" in text
    assert text.splitlines()[-1] == "result: 4 errors (3 kinds), 1 warning"
    assert str(report.first_error()).endswith("train_label:1: label id 77777 is outside the label table "
                                              f"{vocab.source} (ids 0..{len(vocab) - 1})")
    assert [e.line for e in report.usable()] == [4]  # the clipped one: a warning only
    table = exclusion_table(report.excluded()).splitlines()
    assert table[0] == "list_file\tline\twav\treason" and len(table) == 4
    assert table[1].split("\t")[1:3] == ["1", str(root / "train/train_data/u0.wav")]
    assert "label id 77777" in table[1] and "NaN or infinite" in table[1]
    with pytest.raises(DatasetError, match=r"train_label:1: label id 77777 .* \(and 3 more problems"):
        read_train_list(str(root), vocab)
    kept = read_train_list(str(root), vocab, report)
    assert [Path(p).name for p in kept.wav_paths] == ["u3.wav"]


def test_audio_facts_are_cached_by_size_and_mtime(tmp_path, vocab):
    root = build(tmp_path / "ds", vocab)
    cache = tmp_path / "cache.sqlite"
    first = check_dataset(root, vocab, cache_path=cache)
    assert (first.audio_read, first.audio_cached) == (6, 0)
    again = check_dataset(root, vocab, cache_path=cache)
    assert (again.audio_read, again.audio_cached) == (0, 6) and again.findings == []
    AUDIO_CASES[9].make(root / "train/train_data/u1.wav")  # replaced: new size and mtime
    changed = check_dataset(root, vocab, cache_path=cache)
    assert (changed.audio_read, changed.audio_cached) == (1, 5)
    assert kinds_at(changed, "data_list.csv", 2) == {"non_finite"}


def test_an_unwritable_cache_only_costs_time(tmp_path, vocab):
    root = build(tmp_path / "ds", vocab)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    report = check_dataset(root, vocab, cache_path=blocker / "cache.sqlite")
    assert report.findings == [] and report.audio_read == 6


def test_every_kind_is_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "reliability.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"`{kind.name}`" in doc, kind.name
    assert {k.severity for k in KINDS} == {ERROR, "warning"}


def test_nan_audio_reaching_the_model_is_caught_by_the_step_guard(tmp_path, vocab):
    """Defence in depth: a featurizer that lets NaN through (a user's own) still cannot train or save a NaN model."""
    from loader import BaseDataset
    from speech_kit.finite import NonFiniteLoss, NonFiniteModel, check_finite_model
    from speech_kit.objectives import SpeechObjective
    from speech_kit.train import TrainConfig, train_epoch
    import soundfile as sf
    from speech_kit.features import stft_magnitude

    root = build(tmp_path / "ds", vocab, {1: AUDIO_CASES[9]})
    wavs = [str(root / f"train/train_data/u{i}.wav") for i in range(4)]
    targets = {f"u{i}": vocab.encode(t) for i, t in enumerate(TEXTS)}

    def raw_feature(path: str) -> torch.Tensor:  # no check at all: the samples as the file holds them
        data, _ = sf.read(path, dtype="float32")
        return stft_magnitude(torch.from_numpy(data * 32768.0))

    dataset = BaseDataset(wavs, [w.replace(".wav", ".label") for w in wavs], targets, vocab.sos_id, vocab.eos_id,
                          raw_feature)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=257,
                         hidden_size=8, layer_size=1, bidirectional=False, use_attention=True, decoder=True, ctc=False)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    objective = SpeechObjective(vocab)
    plan = [[[0, 1]], [[2, 3]]]  # two loader threads; the NaN file is in the first batch delivered
    with pytest.raises(NonFiniteLoss, match=r"the loss is nan in train batch 1/2 \(.*u0.wav, .*u1.wav\)"):
        train_epoch(model, objective, dataset, plan, optimizer, TrainConfig(batch_size=2, workers=2),
                    torch.device("cpu"), show_progress=False)
    check_finite_model(model, optimizer)  # nothing was stepped
    metrics, totals = train_epoch(model, objective, dataset, plan, optimizer,
                                  TrainConfig(batch_size=2, workers=2, on_bad_sample="skip"), torch.device("cpu"),
                                  show_progress=False)
    assert totals["skipped_batches"] == 1 and np.isfinite(metrics["loss"])
    check_finite_model(model, optimizer)  # the good batch stepped, the bad one did not
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(NonFiniteModel, match="NaN or infinite values"):
        check_finite_model(model, optimizer)


def test_a_nan_model_is_never_saved(tmp_path, vocab, monkeypatch):
    import main
    import nsml
    from speech_kit.finite import NonFiniteModel

    monkeypatch.setenv("NSML_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=257,
                         hidden_size=8, layer_size=1, bidirectional=False, use_attention=True, decoder=True, ctc=False)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    main.bind_model(model, optimizer, config=config, vocab=vocab)
    nsml.save("good")
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("inf")
    with pytest.raises(NonFiniteModel):
        nsml.save("best")
    with pytest.raises(NonFiniteModel):
        nsml.save("good")  # a later save of an existing name keeps the good one
    root = tmp_path / "ckpt"
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and p.is_dir()) == ["good"]
    assert list((root / ".pending").iterdir()) == []
    from models import load_checkpoint
    assert all(torch.isfinite(t).all() for t in load_checkpoint(root / "good").model_state.values()
               if t.is_floating_point())


# --- lists in a legacy encoding, audio given instead of a list, flags out of range (python -m ru_numbers.evaluate)

RU_PROG = "python -m ru_numbers.evaluate"
RU_HEADER = "filename,transcription,gender,spk_id"


def _ru_inputs(folder: Path) -> dict[str, Path]:
    write(folder / "a.wav", tone(1.0))
    files = {"wav": folder / "a.wav", "cp1251": folder / "cp1251.csv", "cp949": folder / "cp949.csv",
             "utf16": folder / "utf16.csv", "headless": folder / "headless.csv", "no_filename": folder / "names.csv"}
    files["cp1251"].write_bytes(f"{RU_HEADER}\na.wav,сорок два,male,1\n".encode("cp1251"))
    files["cp949"].write_bytes("filename,transcription\na.wav,안녕하세요\n".encode("cp949"))
    files["utf16"].write_bytes("filename\na.wav\n".encode("utf-16"))
    files["headless"].write_text("a.wav,42,male,1\n", encoding="utf-8")
    files["no_filename"].write_text("name,text\na.wav,42\n", encoding="utf-8")
    return files


@pytest.mark.parametrize("given, expected", [
    ("wav", "{path}: this is an audio file (WAV), not text; expected a CSV list of audio files under the header line "
            f"{RU_HEADER} (only filename is needed)"),
    ("cp1251", "{path}: not UTF-8 text (byte 43: invalid continuation byte); it reads as cp1251 (Russian Windows); "
               "convert it with: iconv -f cp1251 -t utf-8 {path} > {path}.utf8"),
    ("cp949", "{path}: not UTF-8 text (byte 29: invalid start byte); it reads as cp949 (Korean Windows, euc-kr); "
              "convert it with: iconv -f cp949 -t utf-8 {path} > {path}.utf8"),
    ("utf16", "{path}: not UTF-8 text (byte 0: invalid start byte); it was saved as UTF-16 (Windows 'Unicode'); "
              "convert it with: iconv -f utf-16 -t utf-8 {path} > {path}.utf8"),
    ("headless", "{path}:1: the list has no header line (line 1 is 'a.wav,42,male,1', a file): its first line must "
                 f"name the columns, e.g. {RU_HEADER} (only filename is needed, others are ignored)"),
    ("no_filename", "{path}:1: the list has no 'filename' column in its header line 'name,text': its first line "
                    f"must name the columns, e.g. {RU_HEADER} (only filename is needed, others are ignored)"),
])
def test_evaluate_names_what_the_input_is_and_the_fix(tmp_path, given, expected):
    from ru_support import assert_one_line_error, run_module

    path = _ru_inputs(tmp_path)[given]
    done = run_module("ru_numbers.evaluate", str(path), str(tmp_path / "out.csv"))
    assert_one_line_error(done, RU_PROG)
    assert done.stderr == f"{RU_PROG}: error: {expected.format(path=path)}\n"
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("value", ["0", "-1"])
def test_evaluate_refuses_a_batch_size_below_one_when_parsed(tmp_path, value):
    from ru_support import run_module

    listed = tmp_path / "list.csv"
    listed.write_text("filename\na.wav\n", encoding="utf-8")
    done = run_module("ru_numbers.evaluate", "--batch_size", value, str(listed), str(tmp_path / "out.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == f"{RU_PROG}: error: argument --batch_size: must be at least 1, got {value}"


def test_the_manifest_reader_gives_the_same_hints(tmp_path):
    from ru_numbers.manifest import ManifestError, read_manifest

    files = _ru_inputs(tmp_path)
    for given, needle in (("cp1251", "iconv -f cp1251 -t utf-8"), ("cp949", "iconv -f cp949 -t utf-8"),
                          ("wav", f"this is an audio file (WAV), not text; expected a CSV manifest with the header "
                                  f"line {RU_HEADER}")):
        with pytest.raises(ManifestError) as caught:
            read_manifest(files[given])
        assert str(caught.value).startswith(f"{files[given]}: ") and needle in str(caught.value)


def test_an_undecided_encoding_names_both_legacy_ones(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(b"a.wav,\xa9\xae\x99\n")  # symbols in both decodings: neither Korean nor Russian letters
    with pytest.raises(DatasetError) as caught:
        read_lines(path, "lines")
    assert str(caught.value).endswith(f"if it was saved as cp949 (Korean Windows, euc-kr) or cp1251 (Russian "
                                      f"Windows), convert it with: iconv -f cp949 -t utf-8 {path} > {path}.utf8 (or "
                                      f"-f cp1251)")


# --- inference over a list holding unusable files: empty predictions and warnings, the other rows kept


def _mixed_inputs(folder: Path) -> tuple[list[str], dict[str, Path]]:
    """Three good wavs around a NaN, an Inf, a random-bytes and a missing one (file names, relative to ``folder``)."""
    folder.mkdir(exist_ok=True)
    for i in range(3):
        write(folder / f"good{i}.wav", tone(1.0 + 0.2 * i, seed=i))
    bad = {"nan": next(c for c in AUDIO_CASES if c.name.startswith("NaN")).make(folder / "nan.wav"),
           "inf": next(c for c in AUDIO_CASES if c.name.startswith("Inf")).make(folder / "inf.wav"),
           "random": next(c for c in AUDIO_CASES if c.kind == "unreadable").make(folder / "random.wav"),
           "missing": folder / "missing.wav"}
    return ["good0.wav", "nan.wav", "good1.wav", "inf.wav", "random.wav", "good2.wav", "missing.wav"], bad


def test_the_transcriber_command_warns_about_nan_files_and_writes_every_row(tmp_path, vocab):
    from ru_support import run_module

    from models import save_checkpoint

    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1)
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    save_checkpoint(checkpoint, build_model(config), config, vocab)
    names, bad = _mixed_inputs(tmp_path / "in")
    listing = tmp_path / "in" / "list.txt"
    listing.write_text("\n".join(names) + "\n", encoding="utf-8")
    out = tmp_path / "pred.csv"
    done = run_module("evaluation.transcribe", "--checkpoint", str(checkpoint), "--max_len", "4", "--output",
                      str(out), str(listing))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 4
    for kind, line in zip(("nan", "inf", "random", "missing"), warnings):
        assert line.startswith(f"evaluation.transcribe: warning: {bad[kind]}: ") and line.endswith(
            "; its transcript is left empty"), line
    rows = [line.split(",", 1) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [Path(r[0]).name for r in rows] == names
    assert [rows[i][1] for i in (1, 3, 4, 6)] == [""] * 4
    only_bad = tmp_path / "in" / "bad.txt"
    only_bad.write_text("missing.wav\nrandom.wav\n", encoding="utf-8")
    done = run_module("evaluation.transcribe", "--checkpoint", str(checkpoint), str(only_bad))
    assert done.returncode == 2 and done.stderr == (
        f"evaluation.transcribe: error: {bad['missing']}: audio file not found (and the other 1 files cannot be "
        f"read either)\n")


def test_ru_numbers_evaluate_keeps_every_row_around_a_nan_file(tmp_path):
    from ru_support import run_module

    names, bad = _mixed_inputs(tmp_path / "in")
    table = tmp_path / "in" / "input.csv"
    table.write_text("filename\n" + "\n".join(names) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    done = run_module("ru_numbers.evaluate", str(table), str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    warnings = sorted(line for line in done.stderr.splitlines() if "warning" in line)
    assert [w.split(": ")[2] for w in warnings] == [f"{table}:{line}" for line in (3, 5, 6, 8)]
    assert all(w.startswith(f"{RU_PROG}: warning: {table}:") and "left empty" in w for w in warnings)
    assert str(bad["nan"]) in warnings[0] and "NaN or infinite" in warnings[0]
    assert str(bad["inf"]) in warnings[1] and "NaN or infinite" in warnings[1]
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "filename,transcription,gender" and [r.split(",")[0] for r in rows[1:]] == names
    assert [rows[1 + i] for i in (1, 3, 4, 6)] == [f"{names[i]},," for i in (1, 3, 4, 6)]
    assert all(rows[1 + i].split(",")[2] in ("male", "female") for i in (0, 2, 5))
    assert done.stdout.strip().endswith(f"3 of 7 file(s) recognised -> {out}")


# --- long audio at inference: the attention decoder's step limit grows with the audio


@pytest.mark.slow
def test_a_long_file_is_not_cut_to_max_len_labels(tmp_path, vocab):
    """A decoder that never says ``</s>`` shows the step limit: 12 s of audio used to stop at ``--max_len`` (80
    labels, about 3 s of speech) without a word; now it may have one label per encoder frame (40 ms)."""
    from ru_support import run_module

    from models import save_checkpoint

    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1)
    model = build_model(config).eval()
    letter = vocab.chars.index("가")
    with torch.no_grad():  # always "가", never </s>
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.fill_(-10.0)
        model.decoder.out.bias[letter] = 10.0
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    save_checkpoint(checkpoint, model, config, vocab)
    long, short = write(tmp_path / "long.wav", tone(12.0)), write(tmp_path / "short.wav", tone(1.0))
    from speech_kit.features import Featurizer

    frames = model.encode(Featurizer()(str(long)).unsqueeze(0)).lengths.tolist()[0]
    assert frames == 300
    for flags in ([], ["--beam_size", "2"]):
        out = tmp_path / "pred.csv"
        done = run_module("evaluation.transcribe", "--checkpoint", str(checkpoint), "--max_len", "80", *flags,
                          "--output", str(out), str(long), str(short))
        assert done.returncode == 0, done.stderr[-3000:]
        texts = dict(line.split(",", 1) for line in out.read_text(encoding="utf-8").splitlines())
        assert texts[str(long)] == "가" * frames, (flags, len(texts[str(long)]))
        assert texts[str(short)] == "가" * 80  # shorter than --max_len frames: --max_len as before
