"""Readers that decode real data once into memory: images, texts, WordNet."""

from __future__ import annotations

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.digits import load_digits
from contrastkit.data.eval_sets import EVAL_SETS, export_image_folder, load_eval_set
from contrastkit.data.folder import load_image_folder
from contrastkit.data.idx import load_fashion_mnist, read_idx
from contrastkit.data.registry import DATASETS, has_test_split, load_dataset
from contrastkit.data.text import TextData, load_texts
from contrastkit.data.wordnet import Synset, load_wordnet, synonym_table

__all__ = [
    "DATASETS",
    "EVAL_SETS",
    "ImageDataset",
    "Synset",
    "TextData",
    "export_image_folder",
    "has_test_split",
    "load_dataset",
    "load_digits",
    "load_eval_set",
    "load_fashion_mnist",
    "load_image_folder",
    "load_texts",
    "load_wordnet",
    "read_idx",
    "synonym_table",
]
