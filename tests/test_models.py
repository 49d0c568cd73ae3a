import argparse

import torch

from label_loader import Vocab
import pytest

from models import (CheckpointError, DecoderState, DecodingOptions, ModelConfig, build_model, check_compatible,
                    decode, load_checkpoint, save_checkpoint)
from models.config import RUNTIME_KEYS, parse_conv_kernels, parse_conv_time_strides
from speech_kit.features import FeatureConfig


def seed_config(**overrides) -> ModelConfig:
    values = dict(vocab_size=820, sos_id=818, eos_id=819, hidden_size=512, layer_size=3, use_attention=True)
    values.update(overrides)
    return ModelConfig(**values)


def test_seed_settings_match_the_seed_printout():
    model = build_model(seed_config(), dropout=0.2)
    assert sum(p.numel() for p in model.parameters()) == 16_626_260
    assert model.encoder.rnn.input_size == 4128
    text = str(model)
    for line in ["Conv2d(1, 32, kernel_size=(41, 11), stride=(2, 2), padding=(20, 5))",
                 "Conv2d(32, 32, kernel_size=(21, 11), stride=(2, 1), padding=(10, 5))",
                 "Hardtanh(min_val=0, max_val=20, inplace=True)",
                 "(rnn): GRU(4128, 512, num_layers=3, batch_first=True, dropout=0.2)",
                 "(embedding): Embedding(820, 512)", "(linear_out): Linear(in_features=1024, out_features=512",
                 "(out): Linear(in_features=512, out_features=820, bias=True)"]:
        assert line in text


def test_shapes_in_training_and_free_decoding():
    torch.manual_seed(0)
    model = build_model(seed_config(hidden_size=32, layer_size=2, vocab_size=20, sos_id=18, eos_id=19))
    feats, lengths = torch.randn(3, 120, 257), torch.tensor([120, 90, 61])
    targets = torch.randint(0, 18, (3, 7))
    assert model(feats, lengths, targets, 1.0).shape == (3, 6, 20)
    assert model(feats, lengths, targets, 0.0).shape == (3, 6, 20)
    decoded = decode(model, feats, lengths, DecodingOptions(max_len=7))
    assert model.training  # decode restores the mode it found
    out, hidden, out_lengths = model.encoder(feats, lengths)
    assert out.shape == (3, 30, 32) and hidden.shape == (2, 3, 32) and out_lengths.tolist() == [30, 23, 16]
    assert all(len(ids) <= max(7, frames) for ids, frames in zip(decoded, [30, 23, 16]))  # decoding.step_limit


def test_padding_does_not_change_an_utterance():
    torch.manual_seed(0)
    model = build_model(seed_config(hidden_size=16, layer_size=2, vocab_size=12, sos_id=10, eos_id=11,
                                    bidirectional=True)).eval()
    feat = torch.randn(1, 100, 257)
    padded = torch.cat([feat, torch.zeros(1, 60, 257)], dim=1)
    with torch.no_grad():
        alone = model.encode(feat, torch.tensor([100]))
        in_batch = model.encode(padded, torch.tensor([100]))
    # the convolutions see zeros past the end either way; the GRU and attention never see the padded frames
    assert torch.allclose(alone.outputs, in_batch.outputs[:, :25], atol=1e-5)
    assert torch.allclose(alone.hidden, in_batch.hidden, atol=1e-5)
    assert decode(model, feat, None) == decode(model, padded, torch.tensor([100]))


def test_save_load_gives_identical_output(tmp_path, vocab):
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=32,
                         layer_size=2, use_attention=True)
    model = build_model(config).eval()
    optimizer = torch.optim.Adam(model.parameters())
    save_checkpoint(tmp_path, model, config, vocab, optimizer, {"epoch": 3})
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint.train_state == {"epoch": 3} and checkpoint.vocab.chars == vocab.chars
    rebuilt = checkpoint.build()
    feats = torch.randn(2, 150, 257)
    targets = torch.full((2, 5), vocab.sos_id)
    with torch.no_grad():
        assert torch.equal(model(feats, None, targets, 0.0), rebuilt(feats, None, targets, 0.0))
    options = DecodingOptions(max_len=12)
    assert decode(model, feats, None, options) == decode(rebuilt, feats, None, options)


def test_checkpoint_mismatch_and_corruption_are_explained(tmp_path, vocab):
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1)
    save_checkpoint(tmp_path, build_model(config), config, vocab)
    checkpoint = load_checkpoint(tmp_path)
    other = ModelConfig(**{**config.to_dict(), "hidden_size": 32})
    with pytest.raises(CheckpointError, match="hidden_size: 16 != 32"):
        check_compatible(checkpoint, other, vocab, "ckpt")
    small = Vocab(("_", "가", "<s>", "</s>"), (0, 1, 0, 0))
    with pytest.raises(CheckpointError, match="another label table"):
        check_compatible(checkpoint, config, small, "ckpt")
    (tmp_path / "model.pt").write_bytes((tmp_path / "model.pt").read_bytes()[:100])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no model.pt"):
        load_checkpoint(tmp_path / "elsewhere")


def test_run_time_options_do_not_block_loading(tmp_path, vocab):
    """Dropout and max_len are not architecture: a checkpoint of the first format (which stored them) loads, and
    a different feature is refused like a different architecture."""
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1)
    save_checkpoint(tmp_path, build_model(config, dropout=0.5), config, vocab)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    payload["format"] = "speech-hackathon-seq2seq/1"
    payload["config"].update({"dropout": 0.2, "max_len": 80})
    del payload["features"]
    torch.save(payload, tmp_path / "model.pt")
    checkpoint = load_checkpoint(tmp_path)
    assert set(RUNTIME_KEYS).isdisjoint(checkpoint.config.to_dict())
    check_compatible(checkpoint, config, vocab, "ckpt", FeatureConfig())
    assert checkpoint.build().encoder.rnn.dropout == 0.0


def test_beam_of_one_is_greedy_and_wider_beams_score_at_least_as_well():
    torch.manual_seed(0)
    model = build_model(seed_config(hidden_size=32, layer_size=1, vocab_size=12, sos_id=10, eos_id=11)).eval()
    feats, lengths = torch.randn(4, 150, 257), torch.tensor([150, 120, 90, 60])
    greedy = decode(model, feats, lengths, DecodingOptions(max_len=15))
    assert decode(model, feats, lengths, DecodingOptions(max_len=15, beam_size=1)) == greedy
    from models.decoding import BeamSearchDecoder
    assert BeamSearchDecoder(DecodingOptions(max_len=15, beam_size=1))(model, model.encode(feats, lengths)) == greedy

    def log_prob(i: int, ids: list[int]) -> float:
        enc = model.encode(feats[i: i + 1], lengths[i: i + 1])
        inputs = torch.tensor([[10, *ids]])
        logits, _ = model.decoder.forward_step(inputs, DecoderState(enc.hidden), enc.outputs, enc.mask)
        steps = torch.log_softmax(logits[0], -1)
        return float(sum(steps[t, tok] for t, tok in enumerate([*ids, 11])))

    beam = decode(model, feats, lengths, DecodingOptions(max_len=15, beam_size=4))
    with torch.no_grad():
        for i in range(4):
            if len(greedy[i]) < 15 and len(beam[i]) < 15:  # both ended with </s>: comparable sequence scores
                assert log_prob(i, beam[i]) >= log_prob(i, greedy[i]) - 1e-4


def test_location_attention_teacher_forced_equals_step_by_step_and_follows_the_previous_weights():
    """The whole-prefix pass (training) and one step at a time (decoding) are the same computation; the weights
    depend on where the previous step looked, and padded frames get none."""
    torch.manual_seed(0)
    model = build_model(seed_config(hidden_size=32, layer_size=2, vocab_size=12, sos_id=10, eos_id=11,
                                    attention="location")).eval()
    feats, lengths = torch.randn(2, 120, 257), torch.tensor([120, 70])
    targets = torch.tensor([[10, 1, 2, 3, 4, 11], [10, 5, 6, 11, 0, 0]])
    with torch.no_grad():
        enc = model.encode(feats, lengths)
        whole, state = model.decoder.forward_step(targets[:, :-1], DecoderState(enc.hidden), enc.outputs, enc.mask)
        state, steps = DecoderState(enc.hidden), []
        for t in range(targets.size(1) - 1):
            logits, state = model.decoder.forward_step(targets[:, t: t + 1], state, enc.outputs, enc.mask)
            steps.append(logits)
        assert torch.allclose(whole, torch.cat(steps, dim=1), atol=1e-5)
        assert state.attention.shape == (2, enc.outputs.size(1)) and not state.attention[1, int(enc.lengths[1]):].any()
        attention = model.decoder.attention
        output = torch.randn(2, 1, 32)
        start = attention(output, enc.outputs, enc.mask)[1]
        shifted = attention(output, enc.outputs, enc.mask, previous=torch.eye(enc.outputs.size(1))[[0, 5]])[1]
        assert not torch.allclose(start, shifted)


def test_location_attention_round_trips_a_checkpoint_and_its_beam_of_one_is_greedy(tmp_path, vocab):
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1, use_attention=True, attention="location", conv_channels=4)
    model = build_model(config).eval()
    save_checkpoint(tmp_path, model, config, vocab)
    loaded = load_checkpoint(tmp_path).build().eval()
    feats, lengths = torch.randn(3, 90, 257), torch.tensor([90, 60, 40])
    greedy = decode(loaded, feats, lengths, DecodingOptions(max_len=12))
    assert greedy == decode(model, feats, lengths, DecodingOptions(max_len=12))
    assert decode(loaded, feats, lengths, DecodingOptions(max_len=12, beam_size=1)) == greedy
    with pytest.raises(ValueError, match="attention must be one of"):
        build_model(ModelConfig(vocab_size=5, sos_id=3, eos_id=4, use_attention=True, attention="cosine"))


def test_front_end_kernels_are_architecture_and_keep_lengths_and_padding(tmp_path, vocab):
    """Other convolution kernels give the same frame counts, encode an utterance the same alone or padded, round
    trip a checkpoint, and a checkpoint saved before kernels were configurable loads with the seed's."""
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=40,
                         hidden_size=16, layer_size=1, bidirectional=True, decoder=False, ctc=True,
                         conv_channels=4, conv_kernels=((11, 5), (5, 3)))
    model = build_model(config).eval()
    assert "Conv2d(1, 4, kernel_size=(11, 5), stride=(2, 2), padding=(5, 2))" in str(model)
    assert "Conv2d(4, 4, kernel_size=(5, 3), stride=(2, 1), padding=(2, 1))" in str(model)
    feat = torch.randn(1, 101, 40)
    padded = torch.cat([feat, torch.zeros(1, 40, 40)], dim=1)
    with torch.no_grad():
        alone = model.encode(feat, torch.tensor([101]))
        in_batch = model.encode(padded, torch.tensor([101]))
    assert alone.lengths.tolist() == [26] and alone.outputs.shape[1] == 26  # 101 -> 51 -> 26, as with the seed's
    assert torch.allclose(alone.outputs, in_batch.outputs[:, :26], atol=1e-5)
    save_checkpoint(tmp_path, model, config, vocab)
    assert load_checkpoint(tmp_path).config == config
    other = ModelConfig(**{**config.to_dict(), "conv_kernels": ((41, 11), (21, 11))})
    with pytest.raises(CheckpointError, match="conv_kernels"):
        check_compatible(load_checkpoint(tmp_path), other, vocab, "ckpt")
    seed = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                       layer_size=1)
    save_checkpoint(tmp_path, build_model(seed), seed, vocab)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    del payload["config"]["conv_kernels"]
    torch.save(payload, tmp_path / "model.pt")
    assert load_checkpoint(tmp_path).config.conv_kernels == ((41, 11), (21, 11))
    with pytest.raises(ValueError, match="two odd TIMExFREQUENCY kernels"):
        ModelConfig(vocab_size=4, sos_id=2, eos_id=3, conv_kernels=((40, 11), (21, 11)))


def test_front_end_time_strides_are_architecture_and_set_the_frame_step(tmp_path, vocab):
    """Time strides 2,3 give the GRUs a frame per 60 ms: the lengths follow, an utterance encodes the same alone or
    padded, the strides round trip a checkpoint, and a checkpoint saved before them loads with the seed's 2,2."""
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=40,
                         hidden_size=16, layer_size=1, bidirectional=True, decoder=False, ctc=True,
                         conv_channels=4, conv_kernels=((11, 5), (5, 3)), conv_time_strides=(2, 3))
    model = build_model(config).eval()
    assert "Conv2d(4, 4, kernel_size=(5, 3), stride=(3, 1), padding=(2, 1))" in str(model)
    feats = torch.randn(2, 101, 40)
    feats[1, 70:] = 0.0
    with torch.no_grad():
        batch = model.encode(feats, torch.tensor([101, 70]))
        alone = model.encode(feats[1:, :70], torch.tensor([70]))
    assert batch.lengths.tolist() == [17, 12] and batch.outputs.shape[1] == 17  # 101 -> 51 -> 17; 70 -> 35 -> 12
    assert alone.outputs.shape[1] == 12
    assert torch.allclose(alone.outputs, batch.outputs[1:, :12], atol=1e-5)
    save_checkpoint(tmp_path, model, config, vocab)
    assert load_checkpoint(tmp_path).config.conv_time_strides == (2, 3)
    with pytest.raises(CheckpointError, match="conv_time_strides"):
        check_compatible(load_checkpoint(tmp_path), ModelConfig(**{**config.to_dict(), "conv_time_strides": (2, 2)}),
                         vocab, "ckpt")
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    del payload["config"]["conv_time_strides"]
    torch.save(payload, tmp_path / "model.pt")
    assert load_checkpoint(tmp_path).config.conv_time_strides == (2, 2)
    assert parse_conv_time_strides("2,3") == (2, 3)
    for bad in ("2", "2,0", "2,3,4", "a,b", "2,-1"):
        with pytest.raises(argparse.ArgumentTypeError, match="two positive time strides"):
            parse_conv_time_strides(bad)
    with pytest.raises(ValueError, match="two positive time strides"):
        ModelConfig(vocab_size=4, sos_id=2, eos_id=3, conv_time_strides=(0, 2))


def test_kernel_option_reads_two_odd_pairs():
    assert parse_conv_kernels("21x11,11x11") == ((21, 11), (11, 11))
    for bad in ("21x11", "21x11,11", "20x11,11x11", "axb,1x1", "21x11,11x11,3x3"):
        with pytest.raises(argparse.ArgumentTypeError, match="odd TIMExFREQUENCY"):
            parse_conv_kernels(bad)
