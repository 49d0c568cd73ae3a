import queue
import random

import pytest
import torch

from speech_kit.layout import DatasetError
from loader import (BaseDataLoader, BaseDataset, FixedSizeBatches, MultiLoader, _collate_fn, iterate_batches,
                    load_targets, read_train_list, split_dataset)
from support import write_tone


def test_collate_pads_features_and_targets(vocab):
    batch = [(torch.ones(5, 257), [1, 2, 3]), (torch.ones(8, 257) * 2, [4, 5])]
    seqs, targets, seq_lengths, target_lengths = _collate_fn(batch, vocab.pad_id)
    assert seqs.shape == (2, 8, 257) and targets.shape == (2, 3)
    assert seq_lengths.tolist() == [5, 8] and target_lengths.tolist() == [3, 2]
    assert seqs[0, 5:].abs().sum() == 0 and seqs[1, 7, 0] == 2
    assert targets[1].tolist() == [4, 5, vocab.pad_id]
    assert seqs.dtype == torch.float32 and targets.dtype == seq_lengths.dtype == torch.long


def test_collate_keeps_bfloat16_features_bit_for_bit_and_refuses_mixed_dtypes(vocab):
    rows = [torch.randn(5, 257).to(torch.bfloat16), torch.randn(8, 257).to(torch.bfloat16)]
    seqs = _collate_fn([(rows[0], [1]), (rows[1], [2])], vocab.pad_id).feats
    assert seqs.dtype == torch.bfloat16 and seqs.shape == (2, 8, 257)
    assert torch.equal(seqs[0, :5], rows[0]) and torch.equal(seqs[1], rows[1])
    assert torch.equal(seqs[0, 5:], torch.zeros(3, 257, dtype=torch.bfloat16))  # padding zeroed, not left as found
    with pytest.raises(ValueError, match="mixes feature dtypes"):
        _collate_fn([(rows[0], [1]), (rows[1].float(), [2])], vocab.pad_id)


def test_threaded_loaders_stream_every_utterance_then_stop(tiny_dataset, vocab):
    train = read_train_list(str(tiny_dataset), vocab)
    split = split_dataset(train, vocab, batch_size=2, workers=2, valid_ratio=0.2)
    valid, shards = split.valid, split.shards
    assert valid.count() == 1 and split.batch_count == 3 and sum(len(s) for s in shards) == 5
    plans = FixedSizeBatches(2).plan(shards, random.Random(0))
    q: queue.Queue = queue.Queue(4)
    loader = MultiLoader([split.train] * len(plans), q, 2, len(plans), vocab.pad_id, plans)
    loader.start()
    batches = list(iterate_batches(q, len(shards)))
    loader.join()
    assert len(batches) == split.batch_count
    scripts = [row for _, targets, _, lengths in batches for row, n in zip(targets.tolist(), lengths.tolist())]
    for row in scripts:  # <s> ids </s>, decodable
        assert row[0] == vocab.sos_id and vocab.eos_id in row
    seen = sorted(vocab.decode(row[1:]) for row in scripts)
    held_out = vocab.decode(valid.getitem(0)[1][1:])
    assert sorted(seen + [held_out]) == sorted(["안녕하세요", "네 괜찮습니다", "감사합니다", "예약 부탁드려요",
                                                  "잠시만요", "네 맞습니다"])
    assert q.empty()


def test_sentinel_is_an_empty_batch_and_errors_reach_the_consumer(tiny_dataset, vocab):
    train = read_train_list(str(tiny_dataset), vocab)
    dataset = BaseDataset(train.wav_paths[:1], train.script_paths[:1], train.targets, vocab.sos_id, vocab.eos_id)
    q: queue.Queue = queue.Queue()
    BaseDataLoader(dataset, q, 4, 0, vocab.pad_id).run()
    assert q.get()[0].shape[0] == 1
    assert q.get()[0].shape[0] == 0  # the end-of-loader sentinel
    broken = BaseDataset([str(tiny_dataset / "nope.wav")], train.script_paths[:1], train.targets, 1, 2)
    BaseDataLoader(broken, q, 4, 0, vocab.pad_id).run()
    with pytest.raises(Exception, match="nope.wav"):
        list(iterate_batches(q, 1))


def test_ddp_shards_are_disjoint_and_equal(tiny_dataset, vocab):
    train = read_train_list(str(tiny_dataset), vocab)
    parts = [split_dataset(train, vocab, 1, 1, valid_ratio=0.2, rank=r, world_size=2) for r in range(2)]
    assert parts[0].batch_count == parts[1].batch_count == 2
    files = [{p.train.wav_paths[i] for i in p.shards[0]} for p in parts]
    assert not files[0] & files[1]


def _edit(path, old, new):
    path.write_text(path.read_text().replace(old, new, 1))


@pytest.mark.parametrize("change, message", [
    (lambda r: _edit(r / "train/train_data/data_list.csv", "wav_001.wav,", "wav_001.wav"),
     r"data_list.csv:2: expected '<wav-file>,<script-file>'"),
    (lambda r: (r / "train/train_data/wav_002.wav").unlink(), r"data_list.csv:3: .*wav_002.wav: audio file not found"),
    (lambda r: (r / "train/train_data/wav_003.wav").write_bytes(b"garbage"), r"data_list.csv:4: .*not a readable"),
    (lambda r: _edit(r / "train/train_label", "wav_004,", "wav_xyz,"), r"data_list.csv:5: key 'wav_004'"),
    (lambda r: _edit(r / "train/train_label", "wav_000,", "wav_000,99999 "), r"train_label:1: label id 99999"),
])
def test_bad_input_names_file_and_line(tiny_dataset, vocab, change, message):
    change(tiny_dataset)
    with pytest.raises(DatasetError, match=message):
        read_train_list(str(tiny_dataset), vocab)


def test_other_sample_rates_warn_once_per_dataset(tiny_dataset, vocab):
    for i in range(3):
        write_tone(tiny_dataset / f"train/train_data/wav_{i:03d}.wav", 0.5, rate=8000, channels=2)
    with pytest.warns(UserWarning, match="3 of 6 audio files are not 16000 Hz") as record:
        read_train_list(str(tiny_dataset), vocab)
    assert len(record) == 1


def test_load_targets_reads_ids(tiny_dataset, vocab):
    targets = load_targets(str(tiny_dataset / "train/train_label"), vocab)
    assert vocab.decode(targets["wav_001"]) == "네 괜찮습니다"


def test_multiloader_batch_order_is_round_robin_and_repeatable(tiny_dataset, vocab):
    train = read_train_list(str(tiny_dataset), vocab)

    def shard(indices):
        return BaseDataset([train.wav_paths[i] for i in indices], [train.script_paths[i] for i in indices],
                           train.targets, vocab.sos_id, vocab.eos_id)

    shards = [shard([0, 1, 2]), shard([3]), shard([4, 5])]  # 3, 1 and 2 batches of one utterance

    def order() -> list[str]:
        q: queue.Queue = queue.Queue(2)
        loader = MultiLoader(shards, q, 1, len(shards), vocab.pad_id)
        loader.start()
        texts = [vocab.decode(targets[0, 1:].tolist()) for _, targets, _, _ in iterate_batches(q, len(shards))]
        loader.join()
        return texts

    text = [vocab.decode(train.targets[f"wav_{i:03d}"]) for i in range(6)]
    expected = [text[0], text[3], text[4], text[1], text[5], text[2]]  # worker 1 ends first, then worker 2
    assert [order() for _ in range(5)] == [expected] * 5
