from evaluation.data_loader import feed_infer
from evaluation.metrics import char_distance, per_utterance, score
from evaluation.score import main as score_main, read_predictions, score_files


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
