"""models.average: the mean of one run's snapshots, written as an exported checkpoint."""

from __future__ import annotations

import json

import torch

from models import build_model, load_checkpoint, save_checkpoint
from models.average import main as average_main
from ru_numbers.recognizer import model_config
from ru_numbers.units import table
from speech_kit.features import FeatureConfig

FEATURES = FeatureConfig("logmel", 80, "utterance")


def snapshot(folder, seed: int, hidden_size: int = 16, steps: int = 0):
    """A small Russian-numbers model with its own random weights (and batch-norm counters moved by ``steps``)."""
    units = table("words")
    vocab = units.vocab()
    config = model_config(vocab, FEATURES, hidden_size, 1, 4)
    torch.manual_seed(seed)
    model = build_model(config)
    model.train()
    with torch.no_grad():
        for _ in range(steps):  # forward passes in train mode move BatchNorm's running statistics and counter
            model.encoder.conv(torch.randn(2, 1, 40, 80))
    folder.mkdir(parents=True)
    save_checkpoint(folder, model, config, vocab, torch.optim.Adam(model.parameters()), {"epoch": seed}, FEATURES,
                    units.kind)
    (folder / "task.json").write_text(json.dumps({"task": "ru_numbers", "units": "words", "seed": seed}))
    return load_checkpoint(folder)


def test_the_average_is_the_element_wise_mean_and_keeps_the_last_counters_and_files(tmp_path, capsys):
    a, b, c = (snapshot(tmp_path / name, seed, steps=seed) for name, seed in (("a", 1), ("b", 2), ("c", 3)))
    assert average_main([str(tmp_path / n) for n in "abc"] + ["--out", str(tmp_path / "avg")]) == 0
    assert "averaged 3 checkpoint(s)" in capsys.readouterr().out
    mean = load_checkpoint(tmp_path / "avg")
    assert mean.optimizer_state is None and mean.train_state == {"epoch": 3} and mean.units == "words"
    floats = 0
    for name, tensor in mean.model_state.items():
        if tensor.is_floating_point():
            floats += 1
            expected = (a.model_state[name] + b.model_state[name] + c.model_state[name]) / 3
            torch.testing.assert_close(tensor, expected)
        else:  # BatchNorm's num_batches_tracked: the last snapshot's (3 forward passes), not a mean of counts
            assert torch.equal(tensor, c.model_state[name]) and int(tensor) == 3
    assert floats > 10
    assert json.loads((tmp_path / "avg" / "task.json").read_text())["seed"] == 3
    assert not torch.equal(mean.model_state["encoder.rnn.weight_ih_l0"], c.model_state["encoder.rnn.weight_ih_l0"])


def test_a_snapshot_of_another_architecture_is_refused_naming_it(tmp_path, capsys):
    snapshot(tmp_path / "a", 1)
    snapshot(tmp_path / "wide", 2, hidden_size=24)
    status = average_main([str(tmp_path / "a"), str(tmp_path / "wide"), "--out", str(tmp_path / "avg")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.startswith(f"models.average: error: {tmp_path / 'wide'}: made with another model")
    assert "hidden_size: 24 != 16" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "avg").exists()
    assert average_main([str(tmp_path / "missing"), "--out", str(tmp_path / "avg")]) == 2
    assert "no model.pt" in capsys.readouterr().err
