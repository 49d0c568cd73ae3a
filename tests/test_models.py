import torch

from label_loader import Vocab
from models import (CheckpointError, ModelConfig, build_model, check_compatible, greedy_decode,
                    load_checkpoint, save_checkpoint)

import pytest


def seed_config(**overrides) -> ModelConfig:
    values = dict(vocab_size=820, sos_id=818, eos_id=819, hidden_size=512, layer_size=3, use_attention=True)
    values.update(overrides)
    return ModelConfig(**values)


def test_seed_settings_match_the_seed_printout():
    model = build_model(seed_config())
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
    model.eval()
    assert model(feats, lengths).shape[1] <= 80
    out, hidden, out_lengths = model.encoder(feats, lengths)
    assert out.shape == (3, 30, 32) and hidden.shape == (2, 3, 32) and out_lengths.tolist() == [30, 23, 16]


def test_padding_does_not_change_an_utterance():
    torch.manual_seed(0)
    model = build_model(seed_config(hidden_size=16, layer_size=2, vocab_size=12, sos_id=10, eos_id=11,
                                    bidirectional=True)).eval()
    feat = torch.randn(1, 100, 257)
    padded = torch.cat([feat, torch.zeros(1, 60, 257)], dim=1)
    with torch.no_grad():
        alone = model(feat, torch.tensor([100]))
        in_batch = model(padded, torch.tensor([100]))
    # the conv's receptive field sees the padding at the edge; the GRU and attention must not
    assert torch.allclose(alone[:, :5], in_batch[:, :5], atol=1e-2)


def test_save_load_gives_identical_output(tmp_path, vocab):
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=32,
                         layer_size=2, use_attention=True, max_len=12)
    model = build_model(config).eval()
    optimizer = torch.optim.Adam(model.parameters())
    save_checkpoint(tmp_path, model, config, vocab, optimizer, {"epoch": 3})
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint.train_state == {"epoch": 3} and checkpoint.vocab.chars == vocab.chars
    rebuilt = checkpoint.build()
    feats = torch.randn(2, 150, 257)
    with torch.no_grad():
        assert torch.equal(model(feats), rebuilt(feats))
    assert greedy_decode(model, feats, None, vocab) == greedy_decode(rebuilt, feats, None, vocab)


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
