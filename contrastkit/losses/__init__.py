"""Losses: pure functions on embeddings, with thin nn.Module wrappers."""

from contrastkit.losses.barlow_twins import BarlowTwinsLoss, barlow_twins_loss
from contrastkit.losses.cosent import angle_loss, cosent_loss
from contrastkit.losses.dcl import DCLLoss, dcl_loss
from contrastkit.losses.dino import DINOLoss, batch_center, dino_loss, teacher_temperature_at
from contrastkit.losses.hard_negative import HardNegativeNTXentLoss, hard_negative_nt_xent
from contrastkit.losses.info_nce import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from contrastkit.losses.matryoshka import MatryoshkaLoss, matryoshka_loss
from contrastkit.losses.metric import (
    ContrastiveLoss,
    TripletLoss,
    contrastive_loss,
    instance_labels,
    triplet_loss,
)
from contrastkit.losses.miners import mine_pairs, mine_triplets, pairwise_distance
from contrastkit.losses.multi_similarity import (
    MultiSimilarityLoss,
    multi_similarity_loss,
    multi_similarity_miner,
)
from contrastkit.losses.negative_cosine import (
    BYOLLoss,
    NegativeCosineLoss,
    byol_loss,
    negative_cosine,
)
from contrastkit.losses.nnclr import nearest_neighbours, nnclr_loss
from contrastkit.losses.proxy_anchor import ProxyAnchorLoss, proxy_anchor_loss
from contrastkit.losses.ranking import MultipleNegativesRankingLoss, multiple_negatives_ranking
from contrastkit.losses.siglip import siglip_loss
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
    "MatryoshkaLoss",
    "MultiSimilarityLoss",
    "MultipleNegativesRankingLoss",
    "NTXentLoss",
    "NegativeCosineLoss",
    "ProxyAnchorLoss",
    "SupConLoss",
    "SwAVLoss",
    "TripletLoss",
    "VICRegLoss",
    "VICRegTerms",
    "angle_loss",
    "barlow_twins_loss",
    "batch_center",
    "byol_loss",
    "contrastive_loss",
    "cosent_loss",
    "dcl_loss",
    "dino_loss",
    "hard_negative_nt_xent",
    "info_nce",
    "instance_labels",
    "matryoshka_loss",
    "mine_pairs",
    "mine_triplets",
    "multi_similarity_loss",
    "multi_similarity_miner",
    "multiple_negatives_ranking",
    "nearest_neighbours",
    "negative_cosine",
    "nnclr_loss",
    "nt_xent",
    "pairwise_distance",
    "proxy_anchor_loss",
    "siglip_loss",
    "sinkhorn",
    "supcon_loss",
    "swav_loss",
    "teacher_temperature_at",
    "triplet_loss",
    "vicreg_loss",
]
