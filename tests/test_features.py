
import subprocess
import numpy as np
import pytest
import soundfile as sf
import torch

from speech_kit.audio import AudioError, probe, read_audio
from loader import get_spectrogram_feature
from speech_kit.features import HOP_LENGTH, N_FFT, N_FREQ, WIN_LENGTH, FeatureConfig, Featurizer, stretch
from support import write_tone


def numpy_spectrogram(samples: np.ndarray) -> np.ndarray:
    """The seed's STFT written independently: a 480-point Hamming window centred in 512 points, no centring."""
    n = np.arange(WIN_LENGTH)
    window = 0.54 - 0.46 * np.cos(2 * np.pi * n / WIN_LENGTH)  # periodic, as torch.hamming_window
    padded = np.zeros(N_FFT)
    left = (N_FFT - WIN_LENGTH) // 2
    padded[left: left + WIN_LENGTH] = window
    frames = 1 + (len(samples) - N_FFT) // HOP_LENGTH
    out = np.empty((frames, N_FREQ))
    for i in range(frames):
        segment = samples[i * HOP_LENGTH: i * HOP_LENGTH + N_FFT].astype(np.float64)
        out[i] = np.abs(np.fft.rfft(segment * padded))
    return out


def test_feature_matches_numpy_stft(tmp_path):
    path = write_tone(tmp_path / "a.wav", seconds=0.73)
    samples, _ = sf.read(path, dtype="int16")
    feat = get_spectrogram_feature(str(path)).numpy()
    ref = numpy_spectrogram(samples)
    assert feat.shape == ref.shape == (1 + (len(samples) - N_FFT) // HOP_LENGTH, 257)
    rel = np.abs(feat - ref).max() / np.abs(ref).max()
    assert rel < 1e-3
    # the seed's scale: raw 16-bit sample values, not [-1, 1) floats
    assert np.allclose(read_audio(path), samples.astype(np.float32))


def test_other_formats_are_converted_to_the_same_feature(tmp_path):
    base = write_tone(tmp_path / "base.wav", seconds=1.0, freq=500)
    stereo = write_tone(tmp_path / "stereo.wav", seconds=1.0, freq=500, channels=2)
    wide = write_tone(tmp_path / "wide.wav", seconds=1.0, freq=500, subtype="PCM_24")
    fast = write_tone(tmp_path / "fast.wav", seconds=1.0, freq=500, rate=44100)
    ref = get_spectrogram_feature(str(base)).numpy()
    for path in (stereo, wide):
        assert probe(path).needs_conversion
        assert np.abs(get_spectrogram_feature(str(path)).numpy() - ref).max() / ref.max() < 1e-3
    resampled = get_spectrogram_feature(str(fast)).numpy()
    assert resampled.shape == ref.shape
    peak = ref.mean(0).argmax()  # the tone's bin survives resampling
    assert resampled.mean(0).argmax() == peak


def test_unusable_audio_is_named(tmp_path):
    with pytest.raises(AudioError, match="missing.wav: audio file not found"):
        probe(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF not really a wav")
    with pytest.raises(AudioError, match="junk.wav: not a readable audio file"):
        probe(junk)
    short = write_tone(tmp_path / "short.wav", seconds=0.01)
    with pytest.raises(AudioError, match="too short"):
        probe(short)
    with pytest.raises(AudioError, match="junk.wav"):
        get_spectrogram_feature(str(junk))


def test_featurizer_takes_a_path_or_samples_and_matches_the_seed_feature(tmp_path):
    path = write_tone(tmp_path / "a.wav", 0.4)
    featurize = Featurizer()
    from_path = featurize(str(path))
    assert torch.equal(from_path, get_spectrogram_feature(str(path)))
    assert torch.equal(featurize(read_audio(path)), from_path)
    assert from_path.shape == (1 + (6400 - N_FFT) // HOP_LENGTH, featurize.size)


def test_stretch_hears_the_speech_slower_as_sox_tempo_does(tmp_path):
    """Two tones one after the other: stretched 1.25x, the switch comes 1.25x later and each tone keeps its bins,
    as in the features of the same audio slowed by sox's tempo effect (WSOLA)."""
    rate = 16000
    t = np.arange(rate // 2) / rate
    samples = np.concatenate([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1760 * t)]) * 8000
    original = tmp_path / "tones.wav"
    sf.write(original, samples.astype(np.int16), rate, subtype="PCM_16")
    slowed = tmp_path / "slowed.wav"
    subprocess.run(["sox", str(original), str(slowed), "tempo", "-s", "0.8"], check=True)
    featurize = Featurizer(FeatureConfig(kind="logmel", normalize="utterance"))
    feats = featurize(str(original))
    assert stretch(feats, 1.0) is feats
    stretched, by_sox = stretch(feats, 1.25), featurize(str(slowed))
    assert stretched.shape == (round(feats.size(0) * 1.25), feats.size(1)) and stretched.dtype == feats.dtype
    assert abs(stretched.size(0) - by_sox.size(0)) <= 3

    def switch(f: torch.Tensor) -> int:  # the first frame whose loudest band is the high tone's
        loudest = f.argmax(dim=1)
        return int((loudest > loudest[0]).nonzero()[0])

    assert abs(switch(stretched) - 1.25 * switch(feats)) <= 2 and abs(switch(stretched) - switch(by_sox)) <= 3
    assert set(stretched.argmax(dim=1).tolist()) == set(feats.argmax(dim=1).tolist()) == {15, 39}  # the two tones
