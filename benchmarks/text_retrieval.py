"""Text retrieval on real text, offline: Debian package descriptions and WordNet glosses.

Tasks (each with a held-out test split of `--test` pairs; the test positives are the
candidates, so recall@1 is "the right one among 2,000"):
  debian:  one-line package summary -> its long description.
  wordnet: an example sentence with the word masked -> the gloss (definition) of its sense.

Systems: TF-IDF; all-MiniLM-L6-v2 as it is; MiniLM fine-tuned with contrastkit on the
training split's pairs (multiple-negatives ranking, batch 32, AdamW 2e-5, 10% warmup);
a small BERT trained from scratch (WordPiece vocabulary fitted on the training texts) with
unsupervised SimCSE on the training texts and with supervised SimCSE on the pairs.
Throughput: the same MiniLM fine-tune run by sentence-transformers' trainer and by
contrastkit, same batch size, loss, sequence length and steps, one after the other.

Usage:
    python -m benchmarks.text_retrieval [--tasks debian,wordnet] [--finetune-seconds 600]
        [--scratch-seconds 600] [--throughput-steps 20]
"""

from __future__ import annotations

import argparse
import random

from benchmarks.common import print_table, write_results
from benchmarks.text_systems import encoder_scores, st_train, tfidf_scores, train_text
from contrastkit.data.debian import debian_pairs, load_debian_descriptions
from contrastkit.data.text import TextData
from contrastkit.data.wordnet import gloss_example_pairs, load_wordnet
from contrastkit.encoders.text import TextEncoder, minilm_path


def split(data: TextData, n_test: int, n_train: int | None, seed: int) -> tuple[TextData, TextData]:
    index = list(range(len(data)))
    random.Random(seed).shuffle(index)
    test, train = index[:n_test], index[n_test:]
    return data.subset(train[:n_train] if n_train else train), data.subset(test)


def load_task(name: str) -> TextData:
    if name == "debian":
        return debian_pairs(load_debian_descriptions())
    if name == "wordnet":
        return gloss_example_pairs(load_wordnet())
    raise SystemExit(f"unknown task {name!r}; expected debian or wordnet")


def run_task(name: str, args: argparse.Namespace, rows: list[dict]) -> None:
    data = load_task(name)
    train, test = split(data, args.test, args.train_pairs, args.seed)
    print(f"\n== {name}: {len(train)} training pairs, {len(test)} test pairs", flush=True)
    train_texts = train.anchor + train.positive

    def record(system: str, scores: dict, **extra) -> None:
        for metric in ("recall@1", "recall@10", "mrr@10", "ndcg@10"):
            rows.append({"task": name, "system": system, "metric": metric, "value": scores[metric]})
        for key, value in extra.items():
            rows.append({"task": name, "system": system, "metric": key, "value": value})
        print(
            f"{system:40s} R@1 {scores['recall@1']:.3f}  R@10 {scores['recall@10']:.3f}  "
            f"MRR@10 {scores['mrr@10']:.3f}",
            flush=True,
        )

    systems = set(args.systems.split(","))
    if "tfidf" in systems:
        record("TF-IDF", tfidf_scores(train_texts, test))
    minilm = TextEncoder.from_pretrained(minilm_path(), max_length=args.max_length)
    if "minilm" in systems:
        record("MiniLM-L6 pretrained", encoder_scores(minilm, test))
    if "finetune" in systems:
        fit = train_text(
            minilm,
            train,
            seconds=args.finetune_seconds,
            batch_size=args.batch_size,
            lr=2e-5,
            precision=args.precision,
        )
        record(
            f"MiniLM-L6 fine-tuned, contrastkit ({fit['steps']} steps)",
            encoder_scores(minilm, test),
            train_pairs_per_s=fit["pairs_per_s"],
            train_steps=fit["steps"],
        )

    scratch_runs = (("simcse", TextData(train_texts)), ("mnrl", train))
    for method, texts in scratch_runs:
        if f"scratch_{method}" not in systems:
            continue
        scratch = TextEncoder.from_scratch(
            train_texts,
            vocab_size=16000,
            dim=args.scratch_dim,
            layers=args.scratch_layers,
            heads=4,
            max_length=args.scratch_max_length,
            seed=args.seed,
        )
        fit = train_text(
            scratch,
            texts,
            method=method,
            seconds=args.scratch_seconds,
            batch_size=args.scratch_batch_size,
            lr=5e-4,
            precision=args.precision,
        )
        label = "unsupervised SimCSE" if method == "simcse" else "supervised SimCSE (pairs)"
        size = f"{args.scratch_layers}x{args.scratch_dim}, {args.scratch_max_length} tokens"
        record(
            f"from scratch {size}, {label} ({fit['steps']} steps)",
            encoder_scores(scratch, test),
            train_pairs_per_s=fit["pairs_per_s"],
            train_steps=fit["steps"],
        )


def throughput(args: argparse.Namespace, rows: list[dict]) -> None:
    """Same MiniLM fine-tune through sentence-transformers and contrastkit: pairs/s."""
    data = debian_pairs(load_debian_descriptions()) if "debian" in args.tasks else None
    if data is None:
        data = gloss_example_pairs(load_wordnet())
    train, _ = split(data, args.test, None, args.seed)
    steps, bs, n = args.throughput_steps, args.batch_size, args.max_length
    print(f"\n== throughput: {steps} steps of {bs} pairs, max_length {n}, fp32", flush=True)
    theirs = st_train(minilm_path(), train, steps=steps, batch_size=bs, lr=2e-5, max_length=n)
    results = {"sentence-transformers trainer (fp32)": theirs}
    for precision in ("fp32", "bf16"):
        enc = TextEncoder.from_pretrained(minilm_path(), max_length=n)
        results[f"contrastkit Trainer ({precision})"] = train_text(
            enc, train, steps=steps, batch_size=bs, lr=2e-5, precision=precision
        )
    for system, r in results.items():
        ratio = r["pairs_per_s"] / theirs["pairs_per_s"]
        rows.append(
            {
                "task": "throughput",
                "system": system,
                "metric": "pairs_per_s",
                "value": r["pairs_per_s"],
                "ratio_vs_sentence_transformers": ratio,
                "seconds": r["seconds"],
            }
        )
        print(f"{system:40s} {r['pairs_per_s']:7.1f} pairs/s  ({ratio:.2f}x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="debian,wordnet")
    parser.add_argument("--test", type=int, default=2000, help="held-out pairs = candidates")
    parser.add_argument("--train-pairs", type=int, default=None, help="cap the training split")
    parser.add_argument("--finetune-seconds", type=float, default=600)
    parser.add_argument("--scratch-seconds", type=float, default=600)
    parser.add_argument("--throughput-steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--scratch-batch-size", type=int, default=128)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", default="bf16", help="training precision (fp32/bf16)")
    parser.add_argument(
        "--systems",
        default="tfidf,minilm,finetune,scratch_simcse,scratch_mnrl",
        help="which systems to run on each task",
    )
    parser.add_argument("--scratch-dim", type=int, default=256)
    parser.add_argument("--scratch-layers", type=int, default=4)
    parser.add_argument("--scratch-max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="text_retrieval")
    args = parser.parse_args()
    rows: list[dict] = []
    if args.throughput_steps > 0:
        throughput(args, rows)
    for task in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        run_task(task, args, rows)
    print()
    print_table(rows, ["task", "system", "metric", "value"])
    path = write_results(args.output, rows, settings=vars(args))
    print(f"written {path}")


if __name__ == "__main__":
    main()
