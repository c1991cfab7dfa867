"""Methods: each owns its networks and turns a batch of views into a loss."""

from contrastkit.methods.barlow_twins import BarlowTwins
from contrastkit.methods.base import Batch, Method, Output, embedding_std
from contrastkit.methods.byol import BYOL
from contrastkit.methods.clip import CLIP
from contrastkit.methods.dcl import DCL
from contrastkit.methods.metric import PairContrastive, Triplet
from contrastkit.methods.moco import MoCo
from contrastkit.methods.moco_v3 import MoCoV3
from contrastkit.methods.registry import IMAGE_TEXT_METHODS, METHODS, TEXT_METHODS
from contrastkit.methods.simclr import SimCLR
from contrastkit.methods.simcse import SimCSE
from contrastkit.methods.simsiam import SimSiam
from contrastkit.methods.supcon import SupCon
from contrastkit.methods.swav import SwAV
from contrastkit.methods.text_pairs import MultipleNegativesRanking, TextTriplet
from contrastkit.methods.vicreg import VICReg

__all__ = [
    "BYOL",
    "CLIP",
    "DCL",
    "IMAGE_TEXT_METHODS",
    "METHODS",
    "TEXT_METHODS",
    "BarlowTwins",
    "Batch",
    "Method",
    "MoCo",
    "MoCoV3",
    "MultipleNegativesRanking",
    "Output",
    "PairContrastive",
    "SimCLR",
    "SimCSE",
    "SimSiam",
    "SupCon",
    "SwAV",
    "TextTriplet",
    "Triplet",
    "VICReg",
    "embedding_std",
]
