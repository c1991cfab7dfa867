"""The shared methods on text (token-dict views) with a tiny from-scratch encoder: a step,
gradients, given hard negatives, exact resume in the trainer."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data.text import TextData
from contrastkit.encoders.text import TextEncoder
from contrastkit.methods import METHODS, Batch, SimCLR, Triplet
from contrastkit.methods.params import construct
from contrastkit.train.batches import TextBatches
from contrastkit.train.trainer import Trainer

WORDS = [
    "red",
    "green",
    "blue",
    "cat",
    "dog",
    "fish",
    "run",
    "jump",
    "swim",
    "fast",
    "slow",
    "big",
    "small",
    "old",
    "new",
    "tree",
]


def _texts(n: int, seed: int) -> list[str]:
    g = torch.Generator().manual_seed(seed)
    return [
        " ".join(WORDS[j] for j in torch.randint(0, len(WORDS), (int(length),), generator=g))
        for length in torch.randint(3, 9, (n,), generator=g)
    ]


@pytest.fixture(scope="module")
def data() -> TextData:
    return TextData(_texts(64, 0), _texts(64, 1), _texts(64, 2))


def _encoder(data: TextData, seed: int = 0) -> TextEncoder:
    corpus = data.anchor + data.positive
    return TextEncoder.from_scratch(corpus, vocab_size=120, dim=32, layers=1, heads=2, seed=seed)


SINGLE = sorted(
    n for n, c in METHODS.items() if c.towers == 1 and not (c.needs_labels or c.needs_scores)
)  # scored pairs: tests/methods/test_cosent.py


@pytest.mark.parametrize("name", SINGLE)
def test_a_step_on_dropout_views_is_finite_and_reaches_the_encoder(data, name):
    torch.manual_seed(0)
    method = construct(name, _encoder(data), {}, proj_hidden_dim=32, proj_dim=16)
    source = TextBatches(TextData(data.anchor), method.encoder.tokenize)  # SimCSE copies
    batch = source.batch(torch.arange(16), torch.Generator().manual_seed(0))
    method.train()
    out = method.training_step(batch)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    grads = [p.grad for p in method.encoder.parameters() if p.requires_grad]
    assert sum(g.abs().sum() for g in grads if g is not None) > 0


def test_dropout_copies_differ_only_by_dropout(data):
    method = SimCLR(_encoder(data), head=torch.nn.Identity(), temperature=0.05)
    tokens = method.encoder.tokenize(data.anchor[:8])
    method.train()
    assert method.training_step(Batch([tokens, tokens])).loss > 0
    method.encoder.model.eval()  # no dropout: the two views are the same embedding
    z = method.encoder(tokens)
    torch.testing.assert_close(z, method.encoder(tokens))


@pytest.mark.parametrize("cls", [SimCLR, Triplet])
def test_given_hard_negatives_change_the_loss_and_get_gradients(data, cls):
    """Triplet data: the negative column is `batch.negatives`, a candidate for every anchor."""
    torch.manual_seed(0)
    enc = _encoder(data)
    method = cls(enc, head=torch.nn.Identity(), **({"temperature": 0.05} if cls is SimCLR else {}))
    method.eval()  # no dropout: the two losses differ only by the negatives
    source = TextBatches(data, enc.tokenize, negatives=True)
    batch = source.batch(torch.arange(16), torch.Generator().manual_seed(0))
    assert batch.negatives is not None and len(batch.views) == 2
    with_negatives = method.training_step(batch).loss
    without = method.training_step(Batch(batch.views, batch.labels, batch.index)).loss
    assert with_negatives != without
    plain = TextBatches(data, enc.tokenize).batch(torch.arange(16), torch.Generator())
    assert plain.negatives is None and len(plain.views) == 2  # not used unless asked


def test_methods_check_their_arguments(data):
    enc = _encoder(data)
    with pytest.raises(ValueError, match="metric"):
        Triplet(enc, metric="dot")
    with pytest.raises(ValueError, match="temperature"):
        SimCLR(enc, temperature=-1)


def _trainer(init_dir, run_dir, steps: int) -> Trainer:
    torch.manual_seed(0)
    method = SimCLR(TextEncoder.from_pretrained(init_dir), head=torch.nn.Identity())
    return Trainer(
        method,
        optimizer="adamw",
        lr=1e-3,
        batch_size=16,
        steps=steps,
        precision="fp32",
        run_dir=run_dir,
        checkpoint_every=3,
        progress=False,
        log_every=1,
    )


def test_text_training_resumes_exactly(data, tmp_path):
    init = _encoder(data).save(tmp_path / "init")  # one tokenizer and start for every run

    def run(run_dir, stop=None, resume=False):
        trainer = _trainer(init, run_dir, steps=8)
        source = TextBatches(data, trainer.method.encoder.tokenize)
        trainer.fit(source, stop_at_step=stop, resume=resume)
        return trainer

    straight = run(tmp_path / "a")
    run(tmp_path / "b", stop=4)
    resumed = run(tmp_path / "b", resume=True)
    assert resumed.step == 8
    for (k, a), b in zip(
        straight.method.state_dict().items(), resumed.method.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=k)
    assert straight.history[-1]["loss"] < straight.history[0]["loss"] + 1.0
