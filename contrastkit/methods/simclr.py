"""SimCLR: two augmented views, one encoder, a projection head and NT-Xent."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.info_nce import check_temperature, nt_xent
from contrastkit.methods.base import Batch, Method, Output, embedding_std, encode_views
from contrastkit.nn.distributed import require_distributed
from contrastkit.nn.heads import ProjectionHead


class SimCLR(Method):
    """SimCLR [1].

    For a batch of N items with V views: encode all V*N views in one pass (BatchNorm
    statistics over all views; multi-crop views of another size in a second pass),
    project with an MLP head, and pull each item's views together against all other
    views in the batch with NT-Xent.

    Args:
        encoder: backbone with an `output_dim` attribute, (B, C, H, W) -> (B, output_dim).
        head: projection head; default `ProjectionHead(output_dim, proj_hidden_dim, proj_dim)`.
        temperature: NT-Xent temperature (SimCLR: 0.5 for small batches, 0.1 for large).
        gather: take negatives from every process (torch.distributed), with gradients.
        proj_hidden_dim: hidden width of the default head.
        proj_dim: output size of the default head (128 in the paper).

    Example:
        >>> method = SimCLR(CompactCNN(in_channels=1), temperature=0.2)
        >>> out = method.training_step(Batch(views=[x1, x2]))
        >>> out.loss.backward()

    [1] Chen et al., "A Simple Framework for Contrastive Learning of Visual
        Representations", ICML 2020.
    """

    name = "simclr"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        temperature: float = 0.2,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if gather:
            require_distributed()
        if head is None:
            dim = getattr(encoder, "output_dim", None)
            if dim is None:
                raise ValueError("encoder has no output_dim; wrap it with as_encoder() first")
            head = ProjectionHead(dim, proj_hidden_dim, proj_dim)
        self.head = head
        self.temperature = temperature
        self.gather = gather

    def training_step(self, batch: Batch) -> Output:
        views = batch.views
        if len(views) < 2:
            raise ValueError(f"SimCLR needs at least 2 views per item, got {len(views)}")
        z = encode_views(lambda x: self.head(self.encoder(x)), views)
        loss = nt_xent(*z, temperature=self.temperature, gather=self.gather)
        return Output(loss, {"loss": float(loss.detach()), "z_std": embedding_std(z[0])})
