from evaluation.data_loader import feed_infer
from evaluation.metrics import char_distance, per_utterance, score, worst
from evaluation.score import main as score_main
from evaluation.score import read_predictions, score_files
from evaluation.transcribe import main as transcribe_main
from models import ModelConfig, build_model, save_checkpoint


def test_char_distance_ignores_spaces():
    assert char_distance("네 괜찮습니다", "네괜찮습니다") == (0, 6)
    assert char_distance("안녕하세요", "안녕하셔요") == (1, 5)
    assert char_distance("가나", "") == (2, 2)


def test_corpus_cer_sums_distances_over_lengths():
    refs = {"a": "안녕하세요", "b": "네 괜찮습니다", "c": "가나다"}
    hyps = {"a": "안녕하셔요", "b": "네 괜찮습니다"}  # c missing: an empty prediction
    result = score(refs, hyps)
    # distances 1 + 0 + 3 over lengths 5 + 6 + 3 (spaces removed)
    assert (result.distance, result.length, result.utterances) == (4, 14, 3)
    assert abs(result.cer - 4 / 14) < 1e-12 and abs(result.crr - (1 - 4 / 14) * 100) < 1e-9
    worst = max(per_utterance(refs, hyps), key=lambda r: r.cer)
    assert worst.key == "c" and worst.hypothesis == ""


def test_feed_infer_then_score_files(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    answers = {"test_000.wav": "안녕하세요", "test_001.wav": "네 괜찮습니다요"}
    count = feed_infer(out, lambda path: answers[path.rsplit("/", 1)[-1]], dataset_path=tiny_dataset)
    assert count == 2
    assert read_predictions(out) == {"test_000": "안녕하세요", "test_001": "네 괜찮습니다요"}
    result = score_files(out, tiny_dataset / "test" / "test_label")
    assert (result.distance, result.length) == (1, 5 + 6)
    assert score_main([str(out), str(tiny_dataset / "test" / "test_label")]) == 0
    assert "CRR 90.91" in capsys.readouterr().out


def test_feed_infer_limit_and_bad_return(tiny_dataset, tmp_path):
    out = tmp_path / "pred.csv"
    assert feed_infer(out, lambda p: "가", dataset_path=tiny_dataset, limit=1) == 1
    assert len(out.read_text().splitlines()) == 1
    try:
        feed_infer(tmp_path / "bad.csv", lambda p: 3, dataset_path=tiny_dataset)
    except TypeError as err:
        assert "returned int" in str(err)
    else:
        raise AssertionError("a non-string prediction must be refused")
    assert not (tmp_path / "bad.csv").exists()


def test_worst_orders_by_cer_and_skips_perfect_utterances():
    refs = {"a": "가나다라", "b": "가나", "c": "가나다"}
    rows = per_utterance(refs, {"a": "가나다", "b": "", "c": "가나다"})
    assert [row.key for row in worst(rows, 5)] == ["b", "a"]
    assert [row.key for row in worst(rows, 1)] == ["b"]


def test_score_cli_names_the_bad_line(tiny_dataset, tmp_path, capsys):
    bad = tmp_path / "pred.csv"
    bad.write_text("test_000.wav,가\ntest_001.wav 가\n", encoding="utf-8")
    assert score_main([str(bad), str(tiny_dataset / "test" / "test_label")]) == 2
    assert "pred.csv:2: expected '<wav-file>,<prediction>'" in capsys.readouterr().err
    bad.write_text("test_000.wav,가\nother.wav,나\n", encoding="utf-8")
    assert score_main([str(bad), str(tiny_dataset / "test" / "test_label")]) == 2
    assert "1 predicted keys are not in" in capsys.readouterr().err


def test_transcriber_keeps_rows_of_unreadable_files_and_refuses_a_list_without_one(tiny_dataset, tmp_path, vocab,
                                                                                 capsys):
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1)
    save_checkpoint(tmp_path, build_model(config), config, vocab)
    wav = str(tiny_dataset / "test" / "test_data" / "test_000.wav")
    out = tmp_path / "out.csv"
    # one missing file among readable ones: its row is kept with an empty transcript and a warning names it
    assert transcribe_main(["--checkpoint", str(tmp_path), "--output", str(out), wav, str(tmp_path / "x.wav")]) == 0
    assert "x.wav: audio file not found; its transcript is left empty" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8").splitlines()[1] == f"{tmp_path / 'x.wav'},"
    out.unlink()
    # no readable file at all: refused before decoding, nothing written
    assert transcribe_main(["--checkpoint", str(tmp_path), "--output", str(out), str(tmp_path / "x.wav")]) == 2
    assert "x.wav" in capsys.readouterr().err and not out.exists()
    assert transcribe_main(["--checkpoint", str(tmp_path / "none"), "--output", str(out), wav]) == 2
    assert "no model.pt" in capsys.readouterr().err
    assert transcribe_main(["--checkpoint", str(tmp_path), "--output", str(out), wav]) == 0
    assert out.read_text(encoding="utf-8").startswith(wav + ",")
