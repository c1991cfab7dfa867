"""The raw-text baseline: TF-IDF vectors, as dense features for the shared evaluations."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["TfidfFeatures"]


class TfidfFeatures:
    """scikit-learn's `TfidfVectorizer(sublinear_tf=True)` fitted on `texts`; calling it
    turns texts into (N, V) float32 rows (V at most `max_features`).

    Example:
        >>> features = TfidfFeatures(["a red cat", "a blue dog"])
        >>> features(["a red dog"]).shape[0]
        1
    """

    def __init__(self, texts: Sequence[str], max_features: int = 20000) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(sublinear_tf=True, max_features=max_features)
        self.vectorizer.fit(list(texts))

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.from_numpy(self.vectorizer.transform(list(texts)).toarray()).float()
