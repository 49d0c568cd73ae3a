"""The Seq2seq really learns: it memorises three real utterances of sample_dataset and decodes them back.

A broken attention mask, decoder input shift, loss target or greedy decoder keeps this from converging, which a
shape test cannot notice.
"""

from __future__ import annotations

import pytest
import soundfile as sf
import torch

from support import ROOT
from evaluation.metrics import score
from loader import BaseDataset, _collate_fn, read_train_list
from models import DecodingOptions, ModelConfig, build_model, decode
from models.transcribe import transcribe


@pytest.mark.slow
@pytest.mark.parametrize("attention", ["dot", "location"])
def test_overfits_three_utterances_to_crr_90(vocab, attention):
    torch.manual_seed(0)
    train = read_train_list(str(ROOT / "sample_dataset"), vocab)
    shortest = sorted(range(len(train.wav_paths)), key=lambda i: sf.info(train.wav_paths[i]).frames)[:3]
    dataset = BaseDataset([train.wav_paths[i] for i in shortest], [train.script_paths[i] for i in shortest],
                          train.targets, vocab.sos_id, vocab.eos_id)
    items = [dataset.getitem(i) for i in range(dataset.count())]
    feats, scripts, lengths, _ = _collate_fn(items, vocab.pad_id)
    references = {str(i): vocab.decode(script[1:]) for i, (_, script) in enumerate(items)}
    assert len(set(references.values())) == 3

    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=64,
                         layer_size=1, use_attention=True, attention=attention)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    criterion = torch.nn.CrossEntropyLoss(ignore_index=vocab.pad_id)
    best = -1e9
    for step in range(1, 1001):
        logits = model.train()(feats, lengths, scripts, 1.0)
        loss = criterion(logits.reshape(-1, logits.size(-1)), scripts[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 0:
            decoded = decode(model, feats, lengths, DecodingOptions(max_len=20))
            hypotheses = dict(zip(references, map(vocab.decode, decoded)))
            best = max(best, score(references, hypotheses).crr)
            if best >= 90:
                break
    assert best >= 90, f"after {step} steps CRR {best:.1f}: {hypotheses} vs {references}"
    # The batched transcriber, file by file and batched, and a beam of one all give the greedy text.
    greedy = [vocab.decode(ids) for ids in decode(model, feats, lengths, DecodingOptions(max_len=20))]
    for options, batch_size in [(DecodingOptions(max_len=20), 1), (DecodingOptions(max_len=20), 3),
                                (DecodingOptions(max_len=20, beam_size=1), 2)]:
        assert transcribe(model, vocab, dataset.wav_paths, options, batch_size=batch_size) == greedy
