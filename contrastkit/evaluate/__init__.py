"""Evaluation of frozen embeddings: kNN, linear probe, retrieval, scored-pair similarity."""

from __future__ import annotations

from contrastkit.evaluate.features import extract_features, raw_features
from contrastkit.evaluate.knn import knn_accuracy, knn_predict
from contrastkit.evaluate.linear import (
    ClassificationReport,
    ProbeNotConvergedWarning,
    ProbeReport,
    classification_report,
    linear_probe,
)
from contrastkit.evaluate.metric_retrieval import retrieval_scores
from contrastkit.evaluate.rank_agreement import kendall_tau, spearman_rho
from contrastkit.evaluate.report import (
    EvalRow,
    evaluate_features,
    format_table,
    print_table,
    rows_to_records,
)
from contrastkit.evaluate.retrieval import rank_corpus, retrieval_metrics
from contrastkit.evaluate.similarity import similarity_correlation

__all__ = [
    "ClassificationReport",
    "EvalRow",
    "ProbeNotConvergedWarning",
    "ProbeReport",
    "classification_report",
    "evaluate_features",
    "extract_features",
    "format_table",
    "kendall_tau",
    "knn_accuracy",
    "knn_predict",
    "linear_probe",
    "print_table",
    "rank_corpus",
    "raw_features",
    "retrieval_metrics",
    "retrieval_scores",
    "rows_to_records",
    "similarity_correlation",
    "spearman_rho",
]
