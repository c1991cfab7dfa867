"""Every method by the name `contrastkit train --method` takes, for every modality.

Single-encoder methods train on two or more views of the same items (images, texts,
audio, graph nodes, table rows); two-tower methods (`towers == 2`: CLIP, SigLIP) train two encoders
on paired items (images and captions, users and items)."""

from __future__ import annotations

from contrastkit.methods.barlow_twins import BarlowTwins
from contrastkit.methods.base import Method
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
from contrastkit.methods.siglip import SigLIP
from contrastkit.methods.simclr import SimCLR
from contrastkit.methods.simsiam import SimSiam
from contrastkit.methods.supcon import SupCon
from contrastkit.methods.swav import SwAV
from contrastkit.methods.vicreg import VICReg

METHODS: dict[str, type[Method]] = {
    cls.name: cls
    for cls in (
        SimCLR,
        MoCo,
        MoCoV3,
        BYOL,
        SimSiam,
        SwAV,
        NNCLR,
        DINO,
        BarlowTwins,
        VICReg,
        SupCon,
        DCL,
        PairContrastive,
        Triplet,
        MultiSimilarity,
        ProxyAnchor,
        CLIP,
        SigLIP,
        CoSENT,
        AnglE,
    )
}
