"""CoSENT and AnglE methods on scored text pairs with a tiny from-scratch encoder: a step
equals the loss on the encoder's embeddings, scores are required, and a small scored-pair
file trains end to end through the text path (Spearman on held-out pairs rises)."""

from __future__ import annotations

import json

import pytest
import torch

from contrastkit.data.text import TextData, load_texts
from contrastkit.encoders.text import TextEncoder
from contrastkit.errors import ConfigError
from contrastkit.losses import angle_loss, cosent_loss
from contrastkit.methods import METHODS, AnglE, Batch, CoSENT
from contrastkit.modalities.text import TextModality
from contrastkit.pipeline.evaluate_run import evaluate
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train
from contrastkit.train.batches import TextBatches
from tests.methods.test_text_methods import WORDS, _texts

# a synonym for each of WORDS, never a token of the first texts: a pair's words match by
# meaning only, which token overlap (TF-IDF, a random-init encoder) does not see
SYNONYMS = [
    "crimson",
    "lime",
    "navy",
    "kitten",
    "puppy",
    "trout",
    "sprint",
    "leap",
    "paddle",
    "quick",
    "sluggish",
    "huge",
    "tiny",
    "ancient",
    "fresh",
    "oak",
]


def scored_pairs(n: int, seed: int) -> TextData:
    """Pairs whose second text says each word of the first with its synonym, or with the
    synonym of another word; the score is 5 x the share of words whose meaning is kept."""
    g = torch.Generator().manual_seed(seed)
    first, second, scores = _texts(n, seed), [], []
    for text in first:
        words = [WORDS.index(w) for w in text.split()]
        keep = (torch.rand(len(words), generator=g) < torch.rand(1, generator=g)).tolist()
        other = torch.randint(len(WORDS), (len(words),), generator=g).tolist()
        said = [w if k else o for w, k, o in zip(words, keep, other, strict=True)]
        second.append(" ".join(SYNONYMS[w] for w in said))
        scores.append(
            round(5 * sum(a == b for a, b in zip(words, said, strict=True)) / len(words), 2)
        )
    return TextData(first, second, score=scores)


def write_scored(path, data: TextData) -> None:
    rows = ["text_a\ttext_b\tscore"]
    rows += [
        f"{a}\t{b}\t{s}" for a, b, s in zip(data.anchor, data.positive, data.score, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")


def _encoder(data: TextData) -> TextEncoder:
    corpus = data.anchor + data.positive
    return TextEncoder.from_scratch(corpus, vocab_size=120, dim=32, layers=1, heads=2, seed=0)


@pytest.mark.parametrize("cls", [CoSENT, AnglE])
def test_a_step_is_the_loss_of_the_encoder_embeddings(cls):
    data = scored_pairs(24, 0)
    torch.manual_seed(0)
    method = cls(_encoder(data)).eval()  # no dropout: the same embeddings twice
    batch = TextBatches(data, method.encoder.tokenize).batch(
        torch.arange(16), torch.Generator().manual_seed(0)
    )
    assert batch.scores is not None and batch.scores.dtype == torch.float32
    out = method.training_step(batch)
    a, p = method.encoder(batch.views[0]), method.encoder(batch.views[1])
    loss = cosent_loss if cls is CoSENT else angle_loss
    torch.testing.assert_close(out.loss, loss(a, p, batch.scores))
    out.loss.backward()
    assert sum(q.grad.abs().sum() for q in method.encoder.parameters() if q.grad is not None) > 0


def test_scores_are_required_and_only_text_is_trained():
    data = scored_pairs(8, 0)
    method = CoSENT(_encoder(data))
    tokens = method.encoder.tokenize(data.anchor)
    with pytest.raises(ValueError, match="no scores"):
        method.training_step(Batch([tokens, tokens]))
    assert METHODS["cosent"].modalities == ("text",) and METHODS["angle"].needs_scores
    with pytest.raises(ConfigError, match="cosent trains on text data only"):
        load_config(None, {"data.dataset": "digits", "method.name": "cosent", "train.steps": 1})


def test_angle_rejects_an_odd_embedding_size():
    class Odd(torch.nn.Module):
        output_dim = 7

    with pytest.raises(ValueError, match="even"):
        AnglE(Odd())


def test_unscored_pairs_are_refused_before_training(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("question,answer\n" + "\n".join(f"a{i} b,c d{i}" for i in range(30)) + "\n")
    cfg = load_config(None, {"data.dataset": str(path), "method.name": "cosent",
                             "model.name": "scratch", "train.steps": 1})  # fmt: skip
    with pytest.raises(ConfigError, match="no score column"):
        train(cfg, progress=False)


def test_a_named_scored_set_trains_cosent_unless_told_otherwise():
    base = {"train.steps": 1}
    assert load_config(None, {"data.dataset": "simlex-999", **base}).method.name == "cosent"
    cfg = load_config(None, {"data.dataset": "WordSim_353", "method.name": "angle", **base})
    assert cfg.method.name == "angle"
    assert load_config(None, {"data.dataset": "wordnet", **base}).method.name == "simclr"


def test_scores_left_unread_by_the_method_are_warned_about(tmp_path):
    path = tmp_path / "scored.tsv"
    write_scored(path, scored_pairs(30, 0))
    cfg = load_config(None, {"data.dataset": str(path), "model.name": "scratch",
                             "model.dim": 16, "model.layers": 1, "train.steps": 1})  # fmt: skip
    with pytest.warns(UserWarning, match="score column, which simclr ignores"):
        TextModality().prepare(cfg, None)


def test_the_scored_pair_file_reads_with_text_a_text_b_score(tmp_path):
    path = tmp_path / "scored.tsv"
    write_scored(path, scored_pairs(10, 0))
    data = load_texts(path)
    assert data.kind == "scored" and len(data.score) == 10


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cosent", "angle"])
def test_a_scored_pair_file_trains_end_to_end_and_spearman_rises(tmp_path, name):
    """~25 s: 600 pairs, a 1-layer 32-wide encoder from scratch, 300 steps; eval.json gives
    Spearman on 100 held-out pairs for the trained and the random-init encoder, and with
    matryoshka_dims the main metric at each nested size. The pairs match by synonyms
    only, so token overlap scores nothing and the encoder must learn the meanings."""
    path = tmp_path / "scored.tsv"
    write_scored(path, scored_pairs(600, 0))
    run = tmp_path / "run"
    cfg = load_config(None, {
        "data.dataset": str(path), "data.test_size": 100, "method.name": name,
        "method.matryoshka_dims": [8, 16, 32], "model.name": "scratch", "model.dim": 32,
        "model.layers": 1, "model.vocab_size": 200, "optim.lr": 3e-3, "train.steps": 300,
        "train.batch_size": 32, "train.precision": "fp32", "train.threads": 1,
        "train.run_dir": str(run),
    })  # fmt: skip
    torch.manual_seed(0)
    fit, _ = train(cfg, progress=False)
    losses = [row["loss"] for row in fit.history if "loss" in row]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5, losses
    evaluate(run, device="cpu")
    report = json.loads((run / "eval.json").read_text())
    rho = {r["system"]: r["value"] for r in report["rows"] if r["metric"] == "spearman"}
    trained, start = rho[f"contrastkit {name}"], rho["random-init encoder"]
    # measured: cosent 0.54, angle 0.61 against -0.12 / -0.16 (TF-IDF: None, no overlap)
    assert trained > 0.35 and trained > start + 0.35, rho
    nested = {r["dim"]: r["value"] for r in report["matryoshka"] if r["metric"] == "spearman"}
    assert sorted(nested) == [8, 16, 32]
    assert nested[32] == pytest.approx(trained, abs=1e-6)  # the full size is the model itself
    assert nested[8] > start, nested
