"""Every method by the name `contrastkit train --method` takes."""

from __future__ import annotations

from contrastkit.methods.base import Method
from contrastkit.methods.moco import MoCo
from contrastkit.methods.moco_v3 import MoCoV3
from contrastkit.methods.simclr import SimCLR

METHODS: dict[str, type[Method]] = {cls.name: cls for cls in (SimCLR, MoCo, MoCoV3)}
