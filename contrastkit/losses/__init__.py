"""Losses: pure functions on embeddings, with thin nn.Module wrappers."""

from contrastkit.losses.info_nce import InfoNCELoss, NTXentLoss, info_nce, nt_xent

__all__ = ["InfoNCELoss", "NTXentLoss", "info_nce", "nt_xent"]
