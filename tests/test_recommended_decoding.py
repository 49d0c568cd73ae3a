"""A checkpoint carries its best decoding (decoding.json): the transcriber and main.py's infer use it when they are
given no decoding flag, a flag overrides it setting by setting, and --greedy drops it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from entry import DecodingSlot
from evaluation.transcribe import main as transcribe_main
from models import CheckpointError, DecodingOptions
from models.export import main as export_main
from models.recommended import RECOMMENDED_FILE, read_recommended

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "pretrained" / "korean"
WAVS = [str(p) for p in sorted((ROOT / "sample_dataset" / "test" / "test_data").glob("*.wav"))[:4]]


def _transcripts(tmp_path: Path, name: str, *argv: str) -> list[str]:
    out = tmp_path / f"{name}.csv"
    assert transcribe_main([*argv, "--output", str(out), *WAVS]) == 0
    return [line.split(",", 1)[1] for line in out.read_text(encoding="utf-8").splitlines()]


def test_an_export_with_decoding_flags_is_transcribed_that_way_by_default(tmp_path, capsys):
    shipped = tmp_path / "shipped"
    assert export_main([str(SHIPPED), str(shipped), "--beam_size", "4", "--lm_weight", "0.8",
                        "--length_bonus", "1.5"]) == 0
    assert read_recommended(shipped) == {"beam_size": 4, "length_penalty": 0.0, "lm_weight": 0.8,
                                         "length_bonus": 1.5, "stretch": 1.0}
    plain = tmp_path / "plain"  # an export without decoding flags keeps its source's recommendation
    assert export_main([str(SHIPPED), str(plain)]) == 0
    assert read_recommended(plain) == read_recommended(SHIPPED) != {}
    (plain / RECOMMENDED_FILE).unlink()  # and without one, a checkpoint is decoded greedily
    capsys.readouterr()

    default = _transcripts(tmp_path, "default", "--checkpoint", str(shipped))
    assert "recommends: beam 4, LM weight 0.8, length bonus 1.5" in capsys.readouterr().err
    explicit = _transcripts(tmp_path, "explicit", "--checkpoint", str(plain), "--beam_size", "4", "--lm_weight",
                            "0.8", "--length_bonus", "1.5")
    assert default == explicit
    greedy = _transcripts(tmp_path, "greedy", "--checkpoint", str(shipped), "--greedy")
    assert "recommends" not in capsys.readouterr().err
    assert greedy == _transcripts(tmp_path, "plain_greedy", "--checkpoint", str(plain))
    # one flag overrides one setting: no LM, the recommended beam and bonus stay
    no_lm = _transcripts(tmp_path, "no_lm", "--checkpoint", str(shipped), "--lm_weight", "0")
    assert no_lm == _transcripts(tmp_path, "no_lm_plain", "--checkpoint", str(plain), "--beam_size", "4",
                                 "--length_bonus", "1.5")


def test_a_recommended_stretch_is_how_the_checkpoint_is_heard_unless_a_flag_says_otherwise(tmp_path, capsys):
    slowed = tmp_path / "slowed"
    assert export_main([str(SHIPPED), str(slowed), "--beam_size", "1", "--stretch", "1.3"]) == 0
    assert read_recommended(slowed)["stretch"] == 1.3
    plain = tmp_path / "plain"
    assert export_main([str(SHIPPED), str(plain), "--beam_size", "1"]) == 0
    capsys.readouterr()
    default = _transcripts(tmp_path, "default", "--checkpoint", str(slowed))
    assert "recommends: greedy, features stretched 1.3x" in capsys.readouterr().err
    assert default == _transcripts(tmp_path, "explicit", "--checkpoint", str(plain), "--stretch", "1.3")
    assert default != _transcripts(tmp_path, "unstretched", "--checkpoint", str(slowed), "--stretch", "1")
    with pytest.raises(SystemExit):
        transcribe_main(["--checkpoint", str(plain), "--stretch", "3", *WAVS])
    assert "stretch must be within [0.5, 2], got 3.0" in capsys.readouterr().err


def test_greedy_and_a_decoding_flag_together_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        transcribe_main(["--checkpoint", str(SHIPPED), "--greedy", "--beam_size", "4", *WAVS])
    assert exit_.value.code == 2 and "--greedy cannot go with --beam_size" in capsys.readouterr().err


def test_a_malformed_decoding_file_is_named(tmp_path, capsys):
    broken = tmp_path / "broken"
    assert export_main([str(SHIPPED), str(broken)]) == 0
    (broken / RECOMMENDED_FILE).write_text('{"format": "speech-kit-decoding/1", "options": {"beam_size": 0}}')
    with pytest.raises(CheckpointError, match="decoding.json: not a readable"):
        read_recommended(broken)
    assert transcribe_main(["--checkpoint", str(broken), *WAVS]) == 2
    assert "decoding.json" in capsys.readouterr().err


def test_the_entry_adopts_a_loaded_checkpoints_decoding_unless_the_run_chose_its_own(tmp_path):
    shipped = tmp_path / "shipped"
    assert export_main([str(SHIPPED), str(shipped), "--beam_size", "8", "--lm_weight", "0.5"]) == 0
    adopting = DecodingSlot(DecodingOptions(max_len=200))
    adopting.load(str(shipped))
    assert (adopting.options.beam_size, adopting.options.lm_weight, adopting.options.max_len) == (8, 0.5, 200)
    chosen = DecodingSlot(DecodingOptions(), chosen=True)  # --greedy, or a decoding flag of the run's own
    chosen.load(str(shipped))
    assert chosen.options == DecodingOptions()
    # what the adopting run saves recommends the same decoding; a greedy run saves no recommendation
    saved, greedy = tmp_path / "saved", tmp_path / "greedy"
    saved.mkdir()
    greedy.mkdir()
    adopting.save(str(saved))
    chosen.save(str(greedy))
    assert json.loads((saved / RECOMMENDED_FILE).read_text())["options"]["beam_size"] == 8
    assert not (greedy / RECOMMENDED_FILE).exists()
