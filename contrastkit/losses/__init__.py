"""Losses: pure functions on embeddings, with thin nn.Module wrappers."""

from contrastkit.losses.barlow_twins import BarlowTwinsLoss, barlow_twins_loss
from contrastkit.losses.dcl import DCLLoss, dcl_loss
from contrastkit.losses.dino import DINOLoss, batch_center, dino_loss, teacher_temperature_at
from contrastkit.losses.hard_negative import HardNegativeNTXentLoss, hard_negative_nt_xent
from contrastkit.losses.info_nce import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from contrastkit.losses.metric import (
    ContrastiveLoss,
    TripletLoss,
    contrastive_loss,
    instance_labels,
    triplet_loss,
)
from contrastkit.losses.miners import mine_pairs, mine_triplets, pairwise_distance
from contrastkit.losses.negative_cosine import (
    BYOLLoss,
    NegativeCosineLoss,
    byol_loss,
    negative_cosine,
)
from contrastkit.losses.ranking import MultipleNegativesRankingLoss, multiple_negatives_ranking
from contrastkit.losses.supcon import SupConLoss, supcon_loss
from contrastkit.losses.swav import SwAVLoss, sinkhorn, swav_loss
from contrastkit.losses.vicreg import VICRegLoss, VICRegTerms, vicreg_loss

__all__ = [
    "BYOLLoss",
    "BarlowTwinsLoss",
    "ContrastiveLoss",
    "DCLLoss",
    "DINOLoss",
    "HardNegativeNTXentLoss",
    "InfoNCELoss",
    "MultipleNegativesRankingLoss",
    "NTXentLoss",
    "NegativeCosineLoss",
    "SupConLoss",
    "SwAVLoss",
    "TripletLoss",
    "VICRegLoss",
    "VICRegTerms",
    "barlow_twins_loss",
    "batch_center",
    "byol_loss",
    "contrastive_loss",
    "dcl_loss",
    "dino_loss",
    "hard_negative_nt_xent",
    "info_nce",
    "instance_labels",
    "mine_pairs",
    "mine_triplets",
    "multiple_negatives_ranking",
    "negative_cosine",
    "nt_xent",
    "pairwise_distance",
    "sinkhorn",
    "supcon_loss",
    "swav_loss",
    "teacher_temperature_at",
    "triplet_loss",
    "vicreg_loss",
]
