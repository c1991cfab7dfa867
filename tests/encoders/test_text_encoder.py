"""Text encoders: local MiniLM weights, pooling, from-scratch BERT, sentence-transformers export."""

from __future__ import annotations

import pytest
import torch

from contrastkit.encoders.text import TextEncoder, minilm_path
from contrastkit.errors import DatasetNotFoundError

SENTENCES = [
    "A man is playing a guitar.",
    "Someone plays an instrument on stage",
    "The stock market fell sharply today.",
    "short",
]
CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a library for contrastive learning of sentence embeddings",
    "debian packages ship with a one line summary and a long description",
    "the dog sleeps while the fox runs",
] * 20


@pytest.fixture(scope="module")
def minilm():
    return TextEncoder.from_pretrained(minilm_path())


def test_minilm_settings_come_from_its_sentence_transformers_files(minilm):
    assert (minilm.output_dim, minilm.pooling, minilm.normalize) == (384, "mean", True)
    assert minilm.max_length == 256


def test_mean_pooling_ignores_padding(minilm):
    z = minilm.encode(SENTENCES, batch_size=2)
    assert z.shape == (4, 384)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(4))
    alone = minilm.encode(SENTENCES[3:])  # no padding at all
    torch.testing.assert_close(z[3], alone[0], atol=1e-5, rtol=1e-5)
    # manual mean over the real tokens of the padded batch
    tokens = minilm.tokenize(SENTENCES)
    with torch.no_grad():
        hidden = minilm.model(**tokens).last_hidden_state
    mask = tokens["attention_mask"][0].bool()
    manual = torch.nn.functional.normalize(hidden[0][mask].mean(0), dim=0)
    torch.testing.assert_close(z[0], manual, atol=1e-5, rtol=1e-5)


def test_paraphrases_are_closer_than_unrelated(minilm):
    z = minilm.encode(SENTENCES)
    assert z[0] @ z[1] > z[0] @ z[2] + 0.2


def test_export_loads_in_sentence_transformers(minilm, tmp_path):
    from sentence_transformers import SentenceTransformer

    path = minilm.save(tmp_path / "export")
    assert (path / "model.safetensors").is_file()
    st = SentenceTransformer(str(path), device="cpu")
    theirs = torch.from_numpy(st.encode(SENTENCES, convert_to_numpy=True))
    torch.testing.assert_close(theirs, minilm.encode(SENTENCES), atol=1e-5, rtol=1e-5)
    again = TextEncoder.from_pretrained(path)
    torch.testing.assert_close(again.encode(SENTENCES), minilm.encode(SENTENCES))


def test_from_scratch_fits_a_vocabulary_and_round_trips(tmp_path):
    from sentence_transformers import SentenceTransformer

    enc = TextEncoder.from_scratch(CORPUS, vocab_size=200, dim=32, layers=1, heads=2, seed=3)
    same = TextEncoder.from_scratch(CORPUS, vocab_size=200, dim=32, layers=1, heads=2, seed=3)
    ids = enc.tokenize(["the fox jumps"])["input_ids"][0].tolist()
    assert ids[0] == enc.tokenizer.cls_token_id and ids[-1] == enc.tokenizer.sep_token_id
    assert enc.tokenizer.unk_token_id not in ids  # every word was in the corpus
    z = enc.encode(SENTENCES)
    assert z.shape == (4, 32)
    if len(enc.tokenizer) == len(same.tokenizer):  # seeded weights, for one vocabulary size
        for key, value in enc.model.state_dict().items():
            if "word_embeddings" not in key:
                torch.testing.assert_close(value, same.model.state_dict()[key])
    path = enc.save(tmp_path / "scratch")
    st = SentenceTransformer(str(path), device="cpu")
    theirs = torch.from_numpy(st.encode(SENTENCES, convert_to_numpy=True))
    torch.testing.assert_close(theirs, z, atol=1e-5, rtol=1e-5)


def test_dropout_is_active_in_training_mode_only():
    enc = TextEncoder.from_scratch(CORPUS, vocab_size=200, dim=32, layers=1, heads=2)
    tokens = enc.tokenize(SENTENCES)
    enc.train()
    assert not torch.allclose(enc(tokens), enc(tokens))
    enc.eval()
    torch.testing.assert_close(enc(tokens), enc(tokens))


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"no config\.json"):
        TextEncoder.from_pretrained(tmp_path)
    enc = TextEncoder.from_scratch(CORPUS, vocab_size=200, dim=32, layers=1, heads=2)
    with pytest.raises(ValueError, match="pooling must be one of"):
        TextEncoder(enc.model, enc.tokenizer, pooling="max")
