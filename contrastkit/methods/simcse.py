"""SimCSE (unsupervised): a sentence and itself, two dropout masks, InfoNCE."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.info_nce import check_temperature, info_nce
from contrastkit.methods.base import Batch, Method, Output, encode_views
from contrastkit.nn.distributed import require_distributed


class SimCSE(Method):
    """Unsupervised SimCSE [1].

    Pass each sentence through the encoder twice in one batch; the two embeddings differ
    only by the encoder's dropout masks, and are each other's positive against the other
    sentences of the batch (InfoNCE, temperature 0.05 in the paper). The views are the
    text itself (`TextViews.simcse()`); word-level views (`TextViews.eda`) add edits.

    Args:
        encoder: a `TextEncoder` (token dicts -> (B, D)), in training mode so dropout is on.
        head: optional MLP on top during training (the paper's unsupervised pooler); None
            trains the pooled embeddings directly.
        temperature: InfoNCE temperature.
        symmetric: average both directions (view 1 -> 2 and 2 -> 1).
        gather: take negatives from every process (torch.distributed), with gradients.

    Example:
        >>> method = SimCSE(TextEncoder.from_pretrained(minilm_path()))
        >>> tokens = method.encoder.tokenize(["a sentence", "another"])
        >>> out = method.training_step(Batch(views=[tokens, tokens]))

    [1] Gao et al., "SimCSE: Simple Contrastive Learning of Sentence Embeddings",
        EMNLP 2021, section 3.
    """

    name = "simcse"
    summary = "unsupervised SimCSE: each text against itself under another dropout mask"
    modality = "text"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        temperature: float = 0.05,
        symmetric: bool = False,
        gather: bool = False,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if gather:
            require_distributed()
        self.head = head
        self.temperature, self.symmetric, self.gather = temperature, symmetric, gather

    def represent(self, views) -> tuple[list, list]:
        h = encode_views(self.encoder, views[:2])  # one forward: dropout differs per row
        return h, (encode_views(self.head, h) if self.head is not None else h)

    def objective(self, z, batch: Batch):
        return info_nce(
            z[0], z[1], temperature=self.temperature, symmetric=self.symmetric, gather=self.gather
        )

    def training_step(self, batch: Batch) -> Output:
        return self.represent_and_score(batch)
