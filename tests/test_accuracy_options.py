"""The options beyond the seed: log-mel features, jamo units, CTC, SpecAugment, schedules, n-gram LM, CTC search."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from support import ROOT, write_tone
from label_loader import Vocab
from loader import BaseDataset, FrameBudgetBatches, _collate_fn, feature_frames, read_train_list
from models import DecodingOptions, ModelConfig, build_model, decode
from models.decoding import BLANK_ID, CTCGreedyDecoder, CTCPrefixBeamDecoder
from models.lm import NgramLM
from models.transcribe import transcribe
from speech_kit.audio import read_audio
from speech_kit.augment import SpecAugment, SpecAugmentConfig
from speech_kit.features import FeatureConfig, Featurizer, mel_filterbank
from speech_kit.objectives import SpeechObjective
from speech_kit.scoring import score
from speech_kit.train import TrainConfig, learning_rate
from speech_kit.units import ALL_JAMO, TextUnits, retarget


def test_log_mel_is_normalised_and_does_not_depend_on_the_recording_level(tmp_path):
    featurize = Featurizer(FeatureConfig("logmel", n_mels=40))
    samples = read_audio(write_tone(tmp_path / "a.wav", 0.6, freq=300))
    feat = featurize(samples)
    assert feat.shape == (1 + (len(samples) - 512) // 160, 40) and featurize.size == 40
    assert feat.mean(0).abs().max() < 1e-3 and (feat.std(0, unbiased=False) - 1).abs().max() < 1e-2
    quieter = featurize(samples * 0.05)
    assert (quieter - feat).abs().max() < 0.05  # per-utterance normalisation removes the gain
    filters = mel_filterbank(40)
    assert filters.shape == (257, 40) and (filters >= 0).all()
    peaks = filters.argmax(0)
    assert bool((peaks[1:] >= peaks[:-1]).all())  # filters climb in frequency


def test_jamo_units_round_trip_every_syllable_and_retarget_label_ids(vocab):
    units = TextUnits("jamo")
    table = units.vocab(vocab)
    assert set(ALL_JAMO) <= set(table.chars) and len(ALL_JAMO) == 67
    for char in vocab.chars[1:-2]:
        assert units.decode(units.encode(char)) == char
    assert len("괜찮") == 2 and len(units.encode("괜찮")) == 6
    unseen = "뷁"  # in no label table, still spelled
    assert table.encode(units.encode(unseen))
    targets = {"a": vocab.encode("안녕하세요")}
    assert units.decode(table.decode(retarget(targets, vocab, units, table)["a"])) == "안녕하세요"
    assert TextUnits("char").vocab(vocab) is vocab
    with pytest.raises(ValueError, match="unknown output units"):
        TextUnits("bpe")


def test_spec_augment_masks_within_its_limits_and_repeats_with_a_seed():
    feat = torch.randn(200, 80)
    config = SpecAugmentConfig(freq_masks=2, freq_width=10, time_masks=2, time_width=30, max_time_ratio=0.1)
    first, again = SpecAugment(config, seed=3)(feat), SpecAugment(config, seed=3)(feat)
    assert torch.equal(first, again) and not torch.equal(first, feat)
    zero_bins = int((first == 0).all(0).sum())
    zero_frames = int((first == 0).all(1).sum())
    assert 0 < zero_bins + zero_frames and zero_bins <= 20 and zero_frames <= 2 * 20
    assert torch.equal(feat, feat.clone())  # the input is untouched


def test_learning_rate_warms_up_then_decays_to_zero():
    config = TrainConfig(lr=1e-3, warmup_steps=10, decay="cosine")
    rates = [learning_rate(config, step, 110) for step in range(110)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:])) and rates[-1] < 1e-6
    assert learning_rate(TrainConfig(lr=5e-4), 1000, 10) == 5e-4


def test_ngram_lm_is_a_distribution_and_prefers_what_it_saw(tmp_path):
    lm = NgramLM.train(["가나다", "가나라", "나다"], order=3)
    units = ["가", "나", "다", "라", ""]
    for context in ["", "가", "가나", "라라"]:
        assert sum(math.exp(lm.log_prob(context, u)) for u in units) == pytest.approx(1.0, abs=1e-6)
    assert lm.score("가나다") > lm.score("다나가")
    lm.save(tmp_path / "lm.json")
    again = NgramLM.load(tmp_path / "lm.json")
    assert again.score("가나라") == pytest.approx(lm.score("가나라"))


def _ctc_model(vocab_size: int = 6) -> torch.nn.Module:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=vocab_size, sos_id=vocab_size - 2, eos_id=vocab_size - 1, feature_size=40,
                         hidden_size=16, layer_size=1, bidirectional=True, decoder=False, ctc=True)
    return build_model(config).eval()


def test_ctc_prefix_beam_finds_a_labelling_at_least_as_probable_as_the_best_path():
    model = _ctc_model()
    feats, lengths = torch.randn(3, 120, 40) * 3, torch.tensor([120, 100, 60])
    greedy = decode(model, feats, lengths, DecodingOptions(max_len=50))
    enc = model.encode(feats, lengths)
    assert greedy == CTCGreedyDecoder(DecodingOptions(max_len=50))(model, enc)
    beam = CTCPrefixBeamDecoder(DecodingOptions(max_len=50, beam_size=8), None, ())(model, enc)
    log_probs = torch.log_softmax(model.ctc(enc.outputs), -1).detach()
    for i, frames in enumerate(lengths // 4):
        def prob(ids: list[int], i: int = i, frames: torch.Tensor = frames) -> float:
            if not ids:
                return float(log_probs[i, :frames, BLANK_ID].sum())
            return -float(F.ctc_loss(log_probs[i, :frames].unsqueeze(1), torch.tensor([ids]), [int(frames)],
                                     [len(ids)], blank=BLANK_ID, reduction="sum"))
        assert prob(beam[i]) >= prob(greedy[i]) - 1e-4


def test_joint_objective_weights_ctc_and_cross_entropy(vocab):
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=40,
                         hidden_size=16, layer_size=1, use_attention=True, ctc=True)
    model = build_model(config)
    items = [(torch.randn(160, 40), [vocab.sos_id, *vocab.encode(t), vocab.eos_id]) for t in ["안녕", "네 좋아요"]]
    batch = _collate_fn(items, vocab.pad_id)
    parts = {}
    for weight in (0.0, 0.5, 1.0):
        torch.manual_seed(1)
        step = SpeechObjective(vocab, ctc_weight=weight)(model, batch, 1.0)
        parts[weight] = step
        assert torch.isfinite(step.loss) and step.tally["tokens"] == 2 + 5 + 2
    tokens = 9
    mixed = 0.5 * parts[0.0].tally["ce"] / tokens + 0.5 * parts[1.0].tally["ctc"] / tokens
    assert float(parts[0.5].loss.detach()) == pytest.approx(mixed, rel=1e-5)
    smoothed = SpeechObjective(vocab, label_smoothing=0.1)
    torch.manual_seed(1)
    assert float(smoothed(model, batch, 1.0).loss.detach()) != pytest.approx(float(parts[0.0].loss.detach()))


def test_frame_budget_batches_cover_every_utterance_once_within_budget():
    rng = random.Random(0)
    frames = [rng.randint(50, 900) for _ in range(300)]
    sampler = FrameBudgetBatches(2000, frames, pool=100)
    shards = [list(range(0, 150)), list(range(150, 300))]
    plans = sampler.plan(shards, random.Random(1))
    seen = sorted(i for plan in plans for batch in plan for i in batch)
    assert seen == list(range(300))
    for plan in plans:
        for batch in plan:
            assert max(frames[i] for i in batch) * len(batch) <= 2000
    padded = sum(max(frames[i] for i in b) * len(b) for p in plans for b in p)
    assert sum(frames) / padded > 0.85  # little padding left
    with pytest.raises(ValueError, match="smaller than utterance"):
        FrameBudgetBatches(100, frames)


def test_feature_frames_from_headers_match_the_features(tmp_path, vocab):
    paths = [str(write_tone(tmp_path / f"{i}.wav", s)) for i, s in enumerate([0.3, 0.77, 1.2])]
    assert feature_frames(paths) == [Featurizer()(p).size(0) for p in paths]


@pytest.mark.slow
def test_a_ctc_jamo_model_memorises_three_utterances(vocab):
    """CTC over jamo with log-mel features learns: three real utterances to CRR >= 90, greedy and beam+LM."""
    torch.manual_seed(0)
    train = read_train_list(str(ROOT / "sample_dataset"), vocab)
    shortest = sorted(range(len(train.wav_paths)), key=lambda i: len(read_audio(train.wav_paths[i])))[:3]
    units = TextUnits("jamo")
    table = units.vocab(vocab)
    targets = retarget(train.targets, vocab, units, table)
    featurize = Featurizer(FeatureConfig("logmel"))
    dataset = BaseDataset([train.wav_paths[i] for i in shortest], [train.script_paths[i] for i in shortest],
                          targets, table.sos_id, table.eos_id, featurize)
    batch = _collate_fn([dataset.getitem(i) for i in range(3)], table.pad_id)
    references = {str(i): units.decode(table.decode(batch.targets[i, 1:].tolist())) for i in range(3)}
    config = ModelConfig(vocab_size=len(table), sos_id=table.sos_id, eos_id=table.eos_id, feature_size=80,
                         hidden_size=64, layer_size=2, bidirectional=True, decoder=False, ctc=True)
    model = build_model(config)
    objective = SpeechObjective(table, ctc_weight=1.0, to_text=lambda ids: units.decode(table.decode(ids)))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    lm = NgramLM.train(references.values(), order=4)
    crr = 0.0
    for step in range(1, 601):
        model.train()
        loss = objective(model, batch, 0.0).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            texts = transcribe(model, table, dataset.wav_paths, DecodingOptions(), featurize, units=units)
            crr = score(references, dict(zip(references, texts))).crr
            if crr >= 90:
                break
    assert crr >= 90, f"CRR {crr:.1f} after {step} steps"
    beam = transcribe(model, table, dataset.wav_paths, DecodingOptions(beam_size=4, lm_weight=0.3), featurize,
                      units=units, lm=lm)
    assert score(references, dict(zip(references, beam))).crr >= 90
    batched = transcribe(model, table, dataset.wav_paths, DecodingOptions(), featurize, batch_size=3, units=units)
    assert batched == texts
    assert np.isfinite(float(loss))


def test_checkpoint_records_units_and_feature(tmp_path, vocab):
    from models import check_compatible, load_checkpoint, save_checkpoint
    from models.checkpoint import CheckpointError

    units = TextUnits("jamo")
    table = units.vocab(vocab)
    config = ModelConfig(vocab_size=len(table), sos_id=table.sos_id, eos_id=table.eos_id, feature_size=80,
                         hidden_size=8, layer_size=1, decoder=False, ctc=True)
    save_checkpoint(tmp_path, build_model(config), config, table, features=FeatureConfig("logmel"), units="jamo")
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint.units == "jamo" and checkpoint.features == FeatureConfig("logmel")
    check_compatible(checkpoint, config, table, "ckpt", FeatureConfig("logmel"), "jamo")
    with pytest.raises(CheckpointError, match="features"):
        check_compatible(checkpoint, config, table, "ckpt", FeatureConfig("stft"), "jamo")
    assert isinstance(Vocab.from_rows(table.to_rows()), Vocab)
