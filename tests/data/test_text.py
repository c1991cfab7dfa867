"""Text readers: every format, column mapping, and bad rows skipped with line numbers."""

from __future__ import annotations

import json

import pytest

from contrastkit.data.text import load_texts
from contrastkit.errors import DataFormatError, DatasetNotFoundError


def test_txt_one_text_per_line_skips_empty_and_undecodable(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes(b"first sentence\n\nsecond \xff\xfe bad\n  third one  \r\n")
    with pytest.warns(UserWarning, match=r"skipped 2 bad row\(s\) of 4.*line 2: empty line"):
        data = load_texts(path)
    assert data.anchor == ["first sentence", "third one"]
    assert data.kind == "texts"
    assert data.skipped == [(2, "empty line"), (3, "bytes that are not utf-8")]


def test_csv_pairs_by_common_names_and_bad_rows(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_bytes(
        b"query,document\n"
        b'how to sort,"sorted(x) returns a new list"\n'
        b"only one field\n"
        b"bad \xff bytes,doc\n"
        b'"multi\nline query",doc three\n'
        b",empty anchor\n"
    )
    with pytest.warns(UserWarning, match="skipped 3"):
        data = load_texts(path)
    assert data.kind == "pairs"
    assert data.anchor == ["how to sort", "multi\nline query"]
    assert data.positive == ["sorted(x) returns a new list", "doc three"]
    lines = dict(data.skipped)
    assert set(lines) == {3, 4, 7}
    assert "1 fields, the header has 2" in lines[3]
    assert "not valid text" in lines[4]
    assert "empty" in lines[7]


def test_tsv_scored_pairs_with_explicit_columns(tmp_path):
    path = tmp_path / "sts.tsv"
    path.write_text("a\tb\tgold\nx one\ty one\t4.5\nx two\ty two\thigh\nx3\ty3\tnan\n")
    with pytest.warns(UserWarning, match="skipped 2"):
        data = load_texts(path, columns={"anchor": "a", "positive": "b", "score": "gold"})
    assert data.kind == "scored"
    assert (data.anchor, data.positive, data.score) == (["x one"], ["y one"], [4.5])
    assert "'gold' is not a number" in dict(data.skipped)[3]
    assert "finite" in dict(data.skipped)[4]


def test_jsonl_triplets_wrong_types_and_bad_json(tmp_path):
    rows = [
        {"anchor": "a1", "positive": "p1", "negative": "n1", "label": 3},
        {"anchor": "a2", "positive": 5, "negative": "n2", "label": 1},
        "not an object",
        {"anchor": "a4", "positive": "p4", "label": 0},
    ]
    lines = [json.dumps(r) for r in rows] + ["{broken json", json.dumps(rows[0])]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="skipped 4"):
        data = load_texts(path)
    assert data.kind == "triplets"
    assert data.anchor == ["a1", "a1"]
    assert data.negative == ["n1", "n1"]
    assert data.label == ["3", "3"]
    reasons = dict(data.skipped)
    assert "'positive' should be text, got int" in reasons[2]
    assert "expected a JSON object" in reasons[3]
    assert "missing 'negative'" in reasons[4]
    assert "not JSON" in reasons[5]


def test_subset_keeps_columns_in_order(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("sentence1,sentence2,score\na,b,1\nc,d,2\ne,f,3\n")
    data = load_texts(path).subset([2, 0])
    assert (data.anchor, data.positive, data.score) == (["e", "a"], ["f", "b"], [3.0, 1.0])


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_texts(tmp_path / "missing.txt")
    (tmp_path / "x.parquet").write_text("")
    with pytest.raises(DataFormatError, match=r"unknown text file type '\.parquet'"):
        load_texts(tmp_path / "x.parquet")
    (tmp_path / "h.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(DataFormatError, match=r"no text column.*\['foo', 'bar'\]"):
        load_texts(tmp_path / "h.csv")
    with pytest.raises(DataFormatError, match=r"column\(s\) \['baz'\] not found"):
        load_texts(tmp_path / "h.csv", columns={"anchor": "baz"})
    (tmp_path / "blank.txt").write_text("\n\n")
    with pytest.raises(DataFormatError, match=r"no usable row.*line 1: empty line"):
        load_texts(tmp_path / "blank.txt")
    (tmp_path / "bad.jsonl").write_text("[1]\n")
    with pytest.raises(DataFormatError, match=r"no usable row.*expected a JSON object"):
        load_texts(tmp_path / "bad.jsonl")
