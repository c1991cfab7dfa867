"""Methods: each owns its networks and turns a batch of views into a loss."""

from contrastkit.methods.barlow_twins import BarlowTwins
from contrastkit.methods.base import Batch, Method, Output, embedding_std
from contrastkit.methods.byol import BYOL
from contrastkit.methods.clip import CLIP
from contrastkit.methods.cosent import AnglE, CoSENT
from contrastkit.methods.dcl import DCL
from contrastkit.methods.dino import DINO
from contrastkit.methods.metric import MultiSimilarity, PairContrastive, Triplet
from contrastkit.methods.moco import MoCo
from contrastkit.methods.moco_v3 import MoCoV3
from contrastkit.methods.nnclr import NNCLR
from contrastkit.methods.proxy_anchor import ProxyAnchor
from contrastkit.methods.registry import METHODS
from contrastkit.methods.siglip import SigLIP
from contrastkit.methods.simclr import SimCLR
from contrastkit.methods.simsiam import SimSiam
from contrastkit.methods.supcon import SupCon
from contrastkit.methods.swav import SwAV
from contrastkit.methods.vicreg import VICReg

__all__ = [
    "BYOL",
    "CLIP",
    "DCL",
    "DINO",
    "METHODS",
    "NNCLR",
    "AnglE",
    "BarlowTwins",
    "Batch",
    "CoSENT",
    "Method",
    "MoCo",
    "MoCoV3",
    "MultiSimilarity",
    "Output",
    "PairContrastive",
    "ProxyAnchor",
    "SigLIP",
    "SimCLR",
    "SimSiam",
    "SupCon",
    "SwAV",
    "Triplet",
    "VICReg",
    "embedding_std",
]
