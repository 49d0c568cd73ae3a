"""The shared synthesis toolkit (``speech_kit.synth``) on the real tools: the runner's errors, noise beds and their
excerpts, mixing at an SNR measured back, espeak-ng speaking Korean and Russian, rendering, the 16-bit write and
the manifest table. The corpora built on it are tested in test_corpus_synthesis.py and test_ru_generate.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from speech_kit.synth.espeak import EspeakVoice, require_variants
from speech_kit.synth.manifest import ManifestError, read_table, write_table
from speech_kit.synth.noise import NOISE_COLOURS, make_noise_beds, mix_at_snr, noise_segment, power
from speech_kit.synth.render import Conventions, render, write_pcm16
from speech_kit.synth.tools import ToolError, require, run

RATE = 16000
needs_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are not installed (apt-get install -y espeak-ng sox)",
)


@pytest.mark.parametrize("tool, package", [("sox", "sox"), ("espeak-ng", "espeak-ng"), ("text2wave", "festival")])
def test_a_missing_tool_names_its_install_command(tool, package, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError) as caught:
        require(tool)
    assert str(caught.value) == f"{tool} is not installed or not on PATH; install it with: apt-get install -y {package}"


@needs_tools
def test_a_failed_command_is_one_line_naming_it_and_its_stderr(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(ToolError) as caught:
        run([require("sox"), str(missing), str(tmp_path / "out.wav")])
    message = str(caught.value)
    assert "\n" not in message and message.startswith("command failed with exit code ")
    assert f"sox {missing} {tmp_path / 'out.wav'}" in message and "can't open input file" in message


def test_a_program_that_cannot_start_is_a_tool_error(tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(ToolError, match=re.escape(f"cannot run {script}: Permission denied")):
        run([str(script)])


@pytest.mark.parametrize("noise_span", [None, slice(None)])
def test_mixing_sets_the_snr_over_the_stated_spans(noise_span):
    rng = np.random.default_rng(1)
    speech = np.concatenate([np.zeros(800), rng.standard_normal(4000) * 0.3, np.zeros(1200)])
    noise = rng.standard_normal(speech.shape[0]) * np.linspace(0.1, 2.0, speech.shape[0])  # louder towards the end
    span = slice(800, 4800)
    mixed = mix_at_snr(speech, noise, 12.5, span, noise_span)
    added = mixed - speech
    measured = 10 * np.log10(power(speech[span]) / power(added[span if noise_span is None else noise_span]))
    assert measured == pytest.approx(12.5, abs=1e-9)
    with pytest.raises(ValueError, match="silent"):
        mix_at_snr(np.zeros(10), np.ones(10), 10.0, slice(None))


@needs_tools
@pytest.mark.parametrize("sample_format", ["float32", "int16"])
def test_noise_beds_and_their_segments(tmp_path, sample_format):
    beds = make_noise_beds(tmp_path, seconds=2.0, sample_format=sample_format)
    assert sorted(beds) == sorted(NOISE_COLOURS) and all(p.parent == tmp_path for p in beds.values())
    info = sf.info(str(beds["white"]))
    assert (info.samplerate, info.channels, info.frames) == (RATE, 1, 2 * RATE)
    assert info.subtype == ("FLOAT" if sample_format == "float32" else "PCM_16")
    whole, _ = sf.read(str(beds["pink"]), dtype="float64")
    first, last = noise_segment(beds["pink"], 8000, 0.0), noise_segment(beds["pink"], 8000, 1.0)
    assert np.allclose(first, whole[:8000] - whole[:8000].mean())
    assert np.allclose(last, whole[-8000:] - whole[-8000:].mean())
    assert abs(first.mean()) < 1e-12 and power(first) > 0
    longer = noise_segment(beds["brown"], 3 * RATE, 0.5)
    assert longer.shape == (3 * RATE,)
    with pytest.raises(ValueError, match="longer than the noise bed"):
        noise_segment(beds["brown"], 3 * RATE, 0.5, repeat=False)
    low = {}
    for colour, path in beds.items():
        spectrum = np.abs(np.fft.rfft(noise_segment(path, RATE, 0.3))) ** 2
        low[colour] = spectrum[: spectrum.shape[0] // 16].sum() / spectrum.sum()  # share below 500 Hz
    assert low["white"] < 0.1 < low["pink"] < low["brown"]


@needs_tools
@pytest.mark.parametrize("language, text, sample_format, trim", [
    ("ko", "안녕하세요 반갑습니다", "float32", 1e-3),
    ("ru", "двести тридцать четыре", "int16", 0.0),
])
def test_espeak_speaks_korean_and_russian_at_16k_with_its_silence_trimmed(language, text, sample_format, trim):
    speech = EspeakVoice(language, "m3", 175, 50, sample_format=sample_format, trim_relative=trim).speak(text)
    assert speech.dtype == np.float64 and 0.5 < speech.shape[0] / RATE < 4.0
    peak = np.max(np.abs(speech))
    assert 0.05 < peak <= 1.0
    assert abs(speech[0]) > trim * peak and abs(speech[-1]) > trim * peak
    if sample_format == "int16":
        assert np.array_equal(speech * 32768, np.round(speech * 32768))  # 16-bit values, untouched


@needs_tools
def test_an_unknown_variant_is_refused():
    require_variants({"m3", "f1"})
    with pytest.raises(ToolError, match="espeak-ng has no voice variant.s. nobody "):
        require_variants({"m3", "nobody"})


def conditions(**changes) -> SimpleNamespace:
    planned = dict(lead_s=0.25, trail_s=0.125, level_db=-6.0, noise="none", snr_db=None, noise_offset=0.0)
    return SimpleNamespace(**{**planned, **changes})


def test_render_pads_levels_and_applies_effects_in_order():
    speech = np.sin(np.linspace(0, 200 * np.pi, 8000)) * 0.5
    calls = []

    def louder(x: np.ndarray) -> np.ndarray:
        calls.append(("speech", x.shape[0]))
        return x * 2

    def channel(x: np.ndarray) -> np.ndarray:
        calls.append(("channel", x.shape[0]))
        return x

    signal = render(speech, conditions(), {}, Conventions(), speech_effects=[louder], channel_effects=[channel])
    assert calls == [("speech", 8000), ("channel", 4000 + 8000 + 2000)]
    assert np.all(signal[:4000] == 0) and np.all(signal[-2000:] == 0) and signal[4000:-2000].any()
    assert 20 * np.log10(np.max(np.abs(signal))) == pytest.approx(-6.0)
    with pytest.raises(ValueError, match="without an SNR"):
        render(speech, conditions(noise="white"), {}, Conventions())


@pytest.mark.parametrize("full_scale, expected", [(32767, [32767, -32767, 16384, 0]),
                                                  (32768, [32767, -32768, 16384, 0])])
def test_the_16_bit_write_follows_the_full_scale_convention(tmp_path, full_scale, expected):
    path = tmp_path / "x.wav"
    write_pcm16(path, np.array([1.0, -1.0, 0.5, 0.0]), full_scale)
    samples, rate = sf.read(path, dtype="int16")
    assert rate == RATE and samples.tolist() == expected and sf.info(str(path)).subtype == "PCM_16"
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]  # no temporary file left behind


def test_manifest_tables_round_trip_and_name_the_bad_line(tmp_path):
    rows = [{"name": "a", "text": 'tab\there, "quoted"', "n": 1}, {"name": "b", "text": "plain", "n": 2.5}]
    for delimiter in (",", "\t"):
        path = tmp_path / f"m{len(delimiter)}.txt"
        write_table(path, ("name", "text", "n"), rows, delimiter)
        assert read_table(path, ("name", "text"), delimiter) == [{k: str(v) for k, v in r.items()} for r in rows]
    bad = tmp_path / "bad.tsv"
    bad.write_text("name\ttext\na\tb\tc\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        read_table(bad, ("name",), "\t")
    assert str(caught.value) == f"{bad}:2: expected 2 fields"
    with pytest.raises(ManifestError) as caught:
        read_table(bad, ("name", "seconds"), "\t")
    assert str(caught.value) == f"{bad}:1: header lacks column(s) seconds; expected at least name seconds"
    with pytest.raises(ManifestError, match="cannot read"):
        read_table(tmp_path / "absent.csv", ("name",))


def test_the_toolkit_imports_nothing_of_the_kit_above_it():
    import ast

    root = Path(__file__).resolve().parent.parent / "speech_kit" / "synth"
    above = {"corpus", "ru_numbers", "loader", "label_loader", "main", "models", "nsml", "evaluation", "entry"}
    found = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in above]
    assert found == []
