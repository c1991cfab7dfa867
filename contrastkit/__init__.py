"""contrastkit: contrastive and self-supervised representation learning.

Example:
    >>> from contrastkit import SimCLR, CompactCNN, ImageViews, Trainer, load_dataset
    >>> data = load_dataset("fashion-mnist")
    >>> method = SimCLR(CompactCNN(in_channels=1), temperature=0.2)
    >>> trainer = Trainer(method, ImageViews.simclr(size=28), max_time=600)
    >>> trainer.fit(data)
    >>> encoder = contrastkit.load("runs/simclr-fashion-mnist")  # any run folder
    >>> encoder.encode(["shoe.png"]).shape  # (1, D) float32
"""

from contrastkit.data import ImageDataset, load_dataset
from contrastkit.encoders import CompactCNN, as_encoder, resnet
from contrastkit.errors import ConfigError, ContrastkitError, DatasetNotFoundError
from contrastkit.losses import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from contrastkit.methods import Batch, Method, Output, SimCLR
from contrastkit.model import Encoder, load
from contrastkit.nn.heads import ProjectionHead
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "CompactCNN",
    "ConfigError",
    "ContrastkitError",
    "DatasetNotFoundError",
    "Encoder",
    "ImageDataset",
    "ImageViews",
    "InfoNCELoss",
    "Method",
    "NTXentLoss",
    "Output",
    "ProjectionHead",
    "SimCLR",
    "Trainer",
    "__version__",
    "as_encoder",
    "info_nce",
    "load",
    "load_dataset",
    "nt_xent",
    "resnet",
]
