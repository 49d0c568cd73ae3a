"""The 2019 platform's own file formats, and files as Windows editors save them, through every reader of the kit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from format_support import ROOT, SAMPLE, make_2019_dataset, write_cp949, write_with_bom

from evaluation.data_loader import feed_infer as feed_infer_2019
from evaluation.score import main as score_main
from label_loader import LabelTableError, Vocab
from loader import load_targets
from speech_kit.feed import feed_infer
from speech_kit.layout import DatasetError, read_pairs, read_wav_list
from speech_kit.scoring import (
    ScoringError,
    align,
    char_distance,
    read_predictions,
    read_test_labels,
    score,
    score_files,
    write_predictions,
)

TABLE = "#id\tchar\tfreq\n0\t_\t0\n1\t\t3\n2\t가\t2\n3\t나\t1\n4\t<s>\t0\n5\t</s>\t0\n"


# --- test lists: one wav file name per line -------------------------------------------------------------------

def test_the_shipped_test_list_is_in_the_2019_form():
    lines = (SAMPLE / "test/test_data/test_list.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 16 and all(line.endswith(".wav") and "," not in line for line in lines)
    assert [entry.first for entry in read_wav_list(SAMPLE / "test/test_data/test_list.csv")] == lines


def test_a_test_list_reads_the_same_in_both_forms(tmp_path):
    bare = tmp_path / "bare.csv"
    bare.write_text("a.wav\n\n  b.wav  \n", encoding="utf-8")
    paired = tmp_path / "paired.csv"
    paired.write_text("a.wav,a.label\nb.wav,b.label\n", encoding="utf-8")
    assert [e.first for e in read_wav_list(bare)] == [e.first for e in read_wav_list(paired)] == ["a.wav", "b.wav"]
    assert [e.lineno for e in read_wav_list(bare)] == [1, 3]


def test_feed_reads_a_bare_test_list_and_reports_progress(tmp_path):
    dataset = make_2019_dataset(tmp_path / "ds", train=1, test=3)
    seen: list[tuple[int, int]] = []
    out = tmp_path / "pred.csv"
    assert feed_infer(out, lambda path: Path(path).stem, dataset, on_progress=lambda d, t: seen.append((d, t))) == 3
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert out.read_text(encoding="utf-8") == "".join(f"test_000{i}.wav,test_000{i}\n" for i in (1, 2, 3))


def test_the_2019_feed_infer_signature_takes_the_dataset_from_the_environment(tmp_path, monkeypatch):
    dataset = make_2019_dataset(tmp_path / "ds", train=1, test=2)
    script = ("import sys\nfrom evaluation.data_loader import feed_infer\n"
              "feed_infer(sys.argv[1], lambda path: 'x')\n"
              "assert 'nsml' not in sys.modules, 'the 2019 feeder must not need the platform'\n")
    out = tmp_path / "pred.csv"
    done = subprocess.run([sys.executable, "-c", script, str(out)], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "NSML_DATASET_PATH": str(dataset)})
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == "test_0001.wav,x\ntest_0002.wav,x\n"
    monkeypatch.delenv("NSML_DATASET_PATH", raising=False)
    with pytest.raises(ValueError, match="NSML_DATASET_PATH is not set"):
        feed_infer_2019(out, lambda path: "x")


def test_the_platform_core_does_not_import_the_user_shadowable_evaluation_package():
    script = ("import sys\nimport speech_kit.scoring, speech_kit.feed\n"
              "print(sorted(m for m in sys.modules if m == 'evaluation' or m.startswith('evaluation.')))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd="/", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- byte order marks ------------------------------------------------------------------------------------------

def test_a_bom_is_not_part_of_the_first_key_anywhere(tmp_path, vocab):
    assert read_pairs(write_with_bom(tmp_path / "data_list.csv", "a.wav,a.label\n"), "x")[0].first == "a.wav"
    assert load_targets(str(write_with_bom(tmp_path / "train_label", "a,2 3\n"))) == {"a": [2, 3]}
    assert read_wav_list(write_with_bom(tmp_path / "test_list.csv", "a.wav\n"))[0].first == "a.wav"
    assert read_test_labels(write_with_bom(tmp_path / "test_label", "a,가 나\n")) == {"a": "가 나"}
    assert read_predictions(write_with_bom(tmp_path / "pred.csv", "a.wav,가나\n")) == {"a": "가나"}
    table = Vocab.from_file(write_with_bom(tmp_path / "t.labels", TABLE))
    assert table.chars == ("_", " ", "가", "나", "<s>", "</s>")


# --- cp949 / euc-kr --------------------------------------------------------------------------------------------

def _assert_iconv_message(message: str, path: Path, offset: int) -> None:
    assert str(path) in message and f"byte {offset}" in message
    assert f"iconv -f cp949 -t utf-8 {path} > {path}.utf8" in message


@pytest.mark.parametrize("read", [
    lambda p: read_pairs(p, "<wav-file>,<script-file>"),
    lambda p: load_targets(str(p)),
    read_wav_list,
    read_test_labels,
    read_predictions,
], ids=["data_list", "train_label", "test_list", "test_label", "predictions"])
def test_a_cp949_file_is_one_error_with_the_iconv_fix(tmp_path, read):
    path = write_cp949(tmp_path / "file.csv", "a.wav,가\n")
    with pytest.raises(DatasetError) as caught:
        read(path)
    _assert_iconv_message(str(caught.value), path, len("a.wav,"))


def test_the_offset_counts_a_bom_as_the_bytes_it_is(tmp_path):
    path = tmp_path / "test_label"
    path.write_bytes(b"\xef\xbb\xbfa," + "가".encode("cp949") + b"\n")
    with pytest.raises(DatasetError) as caught:
        read_test_labels(path)
    _assert_iconv_message(str(caught.value), path, 5)


def test_a_cp949_label_table_is_a_label_table_error_with_the_iconv_fix(tmp_path):
    path = write_cp949(tmp_path / "t.labels", TABLE)
    with pytest.raises(LabelTableError) as caught:
        Vocab.from_file(path)
    _assert_iconv_message(str(caught.value), path, TABLE.encode().index("가".encode()))


def test_the_scorer_reports_a_cp949_label_file_in_one_line(tmp_path, capsys):
    predictions = tmp_path / "pred.csv"
    predictions.write_text("a.wav,가\n", encoding="utf-8")
    labels = write_cp949(tmp_path / "test_label", "a,가나\n")
    assert score_main([str(predictions), str(labels)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("evaluation.score: error: ") and "iconv -f cp949" in err


# --- label tables ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows, char, first, second", [
    (["0\t_\t0", "1\t가\t1", "2\t<s>\t0", "3\t</s>\t0", "4\t가\t1"], "가", 2, 5),
    (["0\t_\t0", "1\t<s>\t0", "2\t가\t1", "3\t<s>\t0", "4\t</s>\t0"], "<s>", 2, 4),
    (["0\t_\t0", "1\t가\t1", "2\t</s>\t0", "3\t</s>\t0", "4\t<s>\t0"], "</s>", 3, 4),
    (["#id\tchar\tfreq", "0\t_\t0", "1\t가\t1", "2\t_\t0", "3\t<s>\t0", "4\t</s>\t0"], "_", 2, 4),
    (["0\t_\t0", "1\t \t1", "2\t\t1", "3\t<s>\t0", "4\t</s>\t0"], " ", 2, 3),
], ids=["char", "sos", "eos", "pad", "space"])
def test_a_character_listed_twice_is_refused_naming_both_lines(tmp_path, rows, char, first, second):
    table = tmp_path / "t.labels"
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(LabelTableError) as caught:
        Vocab.from_file(table)
    assert str(caught.value) == f"{table}:{second}: character {char!r} already listed on line {first}"


def test_a_table_from_rows_with_a_character_twice_is_refused():
    with pytest.raises(LabelTableError, match="'가' has two ids, 1 and 2"):
        Vocab.from_rows([[0, "_", 0], [1, "가", 1], [2, "가", 1], [3, "<s>", 0], [4, "</s>", 0]])


# --- scoring ---------------------------------------------------------------------------------------------------

def test_references_with_no_characters_cannot_be_scored(tmp_path, capsys):
    with pytest.raises(ScoringError, match="CER is undefined"):
        score({"a": "", "b": "  "}, {"a": "가", "b": ""})
    predictions = tmp_path / "pred.csv"
    predictions.write_text("a.wav,가\n", encoding="utf-8")
    labels = tmp_path / "test_label"
    labels.write_text("a,\nb, \n", encoding="utf-8")
    with pytest.raises(ScoringError, match="test_label"):
        score_files(predictions, labels)
    assert score_main([str(predictions), str(labels)]) == 2
    assert "CER is undefined" in capsys.readouterr().err


def test_a_crr_goes_negative_when_insertions_outnumber_the_reference():
    result = score({"a": "가나"}, {"a": "가나다라마바"})
    assert (result.distance, result.length) == (4, 2) and result.crr == pytest.approx(-100.0)


def test_ordinary_prediction_lines_are_byte_identical_to_the_2019_form(tmp_path):
    out = tmp_path / "pred.csv"
    write_predictions(out, [("test_0001.wav", "안녕 하세요."), ("dir/test_0002.wav", ""), ("x.wav", "두\n줄")])
    assert out.read_bytes() == "test_0001.wav,안녕 하세요.\ndir/test_0002.wav,\nx.wav,두 줄\n".encode()


def test_commas_and_quotes_round_trip_through_a_prediction_file(tmp_path):
    rows = [("a,b.wav", "네, 알겠습니다"), ("c.wav", 'he said "hi"'), ("d.wav", '"quoted", and more')]
    out = tmp_path / "pred.csv"
    assert write_predictions(out, rows) == 3
    assert read_predictions(out) == {"a,b": "네, 알겠습니다", "c": 'he said "hi"', "d": '"quoted", and more'}


def test_an_unquoted_2019_line_keeps_the_rest_of_the_line_as_its_text(tmp_path):
    old = tmp_path / "pred.csv"
    old.write_text("a.wav,네, 알겠습니다\nb.wav,좋아요\n", encoding="utf-8")
    assert read_predictions(old) == {"a": "네, 알겠습니다", "b": "좋아요"}


def test_a_prediction_line_error_names_the_line_after_a_quoted_multiline_field(tmp_path):
    bad = tmp_path / "pred.csv"
    bad.write_text('a.wav,"one\ntwo"\nb.wav,x\nb.wav,y\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"pred\.csv:4: key 'b' already given on line 3"):
        read_predictions(bad)


def test_align_shows_each_edit_and_counts_like_the_metric():
    assert align("안녕 하세요", "안녕하셔요") == [("equal", "안", "안"), ("equal", "녕", "녕"), ("equal", "하", "하"),
                                           ("sub", "세", "셔"), ("equal", "요", "요")]
    assert align("가나다", "가다") == [("equal", "가", "가"), ("del", "나", ""), ("equal", "다", "다")]
    assert align("가다", "가나다") == [("equal", "가", "가"), ("ins", "", "나"), ("equal", "다", "다")]
    for ref, hyp in [("네 괜찮습니다", "괜찮아요"), ("", "가나"), ("가나", ""), ("누구랑 같이 가요?", "누구 가요"),
                     ("안녕 하세요", "안녕하셔요요")]:
        ops = align(ref, hyp)
        assert "".join(r for _, r, _ in ops) == ref.replace(" ", "") and "".join(h for _, _, h in ops) == hyp.replace(
            " ", "")
        assert sum(op != "equal" for op, _, _ in ops) == char_distance(ref, hyp)[0]
        assert all((op == "equal") == (r == h) and (op == "ins") == (r == "") and (op == "del") == (h == "")
                   for op, r, h in ops)


def test_the_scorer_shows_where_the_worst_utterances_went_wrong(tmp_path, capsys):
    predictions = tmp_path / "pred.csv"
    write_predictions(predictions, [("a.wav", "안녕하셔요"), ("b.wav", "가다")])
    labels = tmp_path / "test_label"
    labels.write_text("a,안녕 하세요\nb,가나다\n", encoding="utf-8")
    assert score_main([str(predictions), str(labels)]) == 0
    out = capsys.readouterr().out
    assert "err: 안녕하[세>셔]요" in out and "err: 가[-나]다" in out
    assert "distance 2  length 8" in out and "CRR 75.00" in out


def test_the_seed_module_names_are_the_shared_core():
    import evaluation
    import evaluation.data_loader
    import evaluation.metrics
    import evaluation.score
    import speech_kit.scoring as core

    for name in ("Score", "UtteranceScore", "char_distance", "per_utterance", "score", "worst", "align"):
        assert getattr(evaluation.metrics, name) is getattr(core, name)
    for name in ("read_predictions", "write_predictions", "read_test_labels", "paired_files", "score_files"):
        assert getattr(evaluation.score, name) is getattr(core, name)
    assert evaluation.char_distance is core.char_distance and evaluation.Score is core.Score
