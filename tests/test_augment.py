"""The augmentations (``speech_kit.synth.augment``) on real speech through the real tools: espeak-ng's Russian male
and female voices and Festival's natural one, changed by sox and the WORLD vocoder, measured back (length, F0,
spectral centroid, energy above the telephone band)."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import pyworld
import torch

from ru_numbers.pitch import median_f0
from speech_kit.augment import FrequencyWarp, warp_frequencies
from speech_kit.features import FeatureConfig, Featurizer, bin_centres_hz
from speech_kit.synth import augment
from speech_kit.synth.espeak import EspeakVoice
from speech_kit.synth.festival import FestivalVoice

RATE = 16000
MALE_MAX_F0 = 165.0  # Hz: above it listeners start hearing a woman (ru_numbers.pitch)


@pytest.fixture(scope="module")
def male() -> np.ndarray:
    return EspeakVoice("ru", "m3", 150, 40, "float32", 1e-3).speak("двадцать три")


@pytest.fixture(scope="module")
def female() -> np.ndarray:
    return EspeakVoice("ru", "f1", 150, 70, "float32", 1e-3).speak("двадцать три")


def _f0(samples: np.ndarray) -> float:
    f0 = median_f0(samples, RATE)
    assert f0 is not None, "no voiced frames found"
    return f0


def _voiced_centroid(samples: np.ndarray, voiced_in: np.ndarray) -> float:
    """Mean spectral centroid (Hz) of the 5 ms frames voiced in ``voiced_in`` (pyworld's harvest)."""
    f0, times = pyworld.harvest(np.ascontiguousarray(voiced_in), RATE, frame_period=augment.FRAME_PERIOD_MS)
    half = 256
    padded = np.pad(samples, half)
    centres = np.round(times[f0 > 0] * RATE).astype(int)
    frames = np.stack([padded[c:c + 2 * half] for c in centres]) * np.hanning(2 * half)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(2 * half, 1 / RATE)
    return float(np.mean(power @ freqs / power.sum(axis=1)))


def _power_above(samples: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    return float(spectrum[np.fft.rfftfreq(samples.shape[0], 1 / RATE) > hz].sum())


LENGTH_KEEPING = {
    "voice_shift up": augment.voice_shift(1.5, 1.0),
    "voice_shift down, longer tract": augment.voice_shift(0.6, 0.75),
    "voice_shift shorter tract": augment.voice_shift(1.0, 1.3),
    "telephone ulaw": augment.telephone("ulaw"),
    "telephone alaw": augment.telephone("alaw"),
    "telephone gsm": augment.telephone("gsm"),
    "reverb": augment.reverb(),
    "reverb, loudest room": augment.reverb(100, 100, 10),
    "chain": augment.chain(augment.voice_shift(1.2, 1.1), augment.reverb(30, 40), augment.telephone("gsm")),
}


def _check_samples(out: np.ndarray) -> None:
    assert out.dtype == np.float64 and out.ndim == 1
    assert np.all(np.isfinite(out))
    assert 0 < np.max(np.abs(out)) <= 1.0


@pytest.mark.parametrize("name", LENGTH_KEEPING)
def test_effects_keep_the_sample_count_and_stay_in_range(name, male):
    out = LENGTH_KEEPING[name](male)
    assert out.shape == male.shape
    _check_samples(out)


def test_tempo_shortens_the_speech_and_keeps_its_pitch(male):
    out = augment.tempo(1.25)(male)
    _check_samples(out)
    assert out.shape[0] == pytest.approx(0.8 * male.shape[0], rel=0.03)
    assert _f0(out) == pytest.approx(_f0(male), rel=0.05)


def test_voice_shift_scales_f0(male):
    assert _f0(augment.voice_shift(1.5, 1.0)(male)) == pytest.approx(1.5 * _f0(male), rel=0.10)


def test_formant_shift_keeps_f0_and_raises_the_spectral_centroid(male):
    out = augment.voice_shift(1.0, 1.2)(male)
    assert _f0(out) == pytest.approx(_f0(male), rel=0.05)
    before, after = _voiced_centroid(male, male), _voiced_centroid(out, male)
    assert after > 1.05 * before, f"voiced spectral centroid {before:.0f} Hz -> {after:.0f} Hz"


def test_a_female_voice_spoken_low_falls_into_the_male_f0_range(female):
    assert _f0(female) > MALE_MAX_F0
    assert _f0(augment.voice_shift(0.6, 1.0)(female)) < MALE_MAX_F0


@pytest.mark.parametrize("codec", ["ulaw", "alaw", "gsm"])
def test_telephone_removes_energy_above_the_band(codec, male):
    out = augment.telephone(codec)(male)
    assert _power_above(male, 4000) > 0
    assert _power_above(out, 4000) < 0.01 * _power_above(male, 4000)
    assert _power_above(out, 300) > 0.5 * _power_above(out, 0)  # the speech itself is still there


@pytest.mark.parametrize("name", ["tempo", *LENGTH_KEEPING])
def test_effects_are_deterministic_and_pickle(name, male):
    effect = augment.tempo(0.8) if name == "tempo" else LENGTH_KEEPING[name]
    first = effect(male)
    assert np.array_equal(first, effect(male.copy()))
    assert np.array_equal(first, pickle.loads(pickle.dumps(effect))(male))


@pytest.mark.parametrize("make, message", [
    (lambda: augment.tempo(2.5), "tempo factor must be between 0.5 and 2, got 2.5"),
    (lambda: augment.tempo(float("nan")), "tempo factor must be between 0.5 and 2, got nan"),
    (lambda: augment.voice_shift(0.4, 1.0), "f0_ratio must be between 0.5 and 2, got 0.4"),
    (lambda: augment.voice_shift(1.0, 1.5), "formant_ratio must be between 0.7 and 1.4, got 1.5"),
    (lambda: augment.telephone("opus"), "codec must be one of ulaw, alaw, gsm, got 'opus'"),
    (lambda: augment.reverb(reverberance=120), "reverberance must be between 0 and 100, got 120"),
    (lambda: augment.reverb(room_scale=-1), "room_scale must be between 0 and 100, got -1"),
    (lambda: augment.reverb(wet_db=20), "wet_db must be between -10 and 10, got 20"),
])
def test_bad_parameters_name_themselves_and_their_range(make, message):
    with pytest.raises(ValueError) as caught:
        make()
    assert str(caught.value) == message


@pytest.mark.skipif(shutil.which("festival") is None,
                    reason="festival is not installed (apt-get install -y festival festvox-ru)")
def test_festivals_natural_voice_becomes_a_faster_female_one_on_the_phone():
    speech = FestivalVoice().speak("сто пять")
    shift = augment.chain(augment.tempo(1.2), augment.voice_shift(1.7, 1.15))
    shifted = shift(speech)
    _check_samples(shifted)
    assert shifted.shape[0] == pytest.approx(speech.shape[0] / 1.2, rel=0.03)
    assert _f0(shifted) == pytest.approx(1.7 * _f0(speech), rel=0.10)
    assert _f0(shifted) > MALE_MAX_F0
    line = augment.chain(augment.reverb(40, 60), augment.telephone("alaw"))(shifted)
    assert line.shape == shifted.shape
    _check_samples(line)


@pytest.mark.parametrize("kind", ["logmel", "stft"])
def test_the_features_frequency_warp_comes_close_to_a_real_vocal_tract_shift(male, kind):
    """VTLP on the features (``speech_kit.augment``) against WORLD's shift of the audio: the espeak-ng man's
    features warped 15 % up are nearer those of his voice with a 15 % shorter tract (pitch kept) than his own
    features are, and nearer than a warp the wrong way; the warp keeps the frames and the bins."""
    config = FeatureConfig(kind, 80, "utterance")
    featurizer = Featurizer(config)

    def featurize(samples: np.ndarray) -> torch.Tensor:  # the raw STFT magnitude compared as a log spectrum
        feat = featurizer(samples)
        return torch.log(feat + 1.0) if kind == "stft" else feat
    plain = featurize(male * 32767)
    shifted = featurize(augment.voice_shift(1.0, 1.15)(male) * 32767)
    centres = bin_centres_hz(config)
    up, down = warp_frequencies(plain, centres, 1.15), warp_frequencies(plain, centres, 1 / 1.15)
    assert up.shape == plain.shape and warp_frequencies(plain, centres, 1.0) is plain

    def distance(a: torch.Tensor) -> float:
        return float((a - shifted).pow(2).mean())
    assert distance(up) < 0.8 * distance(plain) and distance(up) < distance(down)


def test_frequency_warp_draws_one_factor_per_utterance_within_its_width():
    config = FeatureConfig("logmel", 40, "utterance")
    feat = torch.linspace(-2, 2, 40).repeat(50, 1)
    draws = [FrequencyWarp(config, 0.1, seed=3)(feat) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])  # the same seed, the same factor
    warp = FrequencyWarp(config, 0.1, seed=4)
    outs = [warp(feat) for _ in range(20)]
    assert all(torch.equal(o, o[0].expand_as(o)) for o in outs)  # one factor for every frame of an utterance
    assert len({round(float(o[0, 20]), 6) for o in outs}) == 20  # a new factor for each utterance
    centres = bin_centres_hz(config)
    edges = [warp_frequencies(feat, centres, f)[0, 20] for f in (0.9, 1.1)]
    assert all(min(edges) <= o[0, 20] <= max(edges) for o in outs)  # factors within [0.9, 1.1]
    with pytest.raises(ValueError, match="within \\(0, 0.5\\)"):
        FrequencyWarp(config, 0.5)
