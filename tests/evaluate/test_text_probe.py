"""Linear-probe classification of real texts with frozen MiniLM embeddings."""

from __future__ import annotations


def test_text_linear_probe_on_wordnet_classes_beats_chance():
    """Real text: WordNet noun glosses -> lexicographer class (26 noun classes)."""
    import random

    from contrastkit.data.wordnet import load_wordnet
    from contrastkit.encoders.text import TextEncoder, minilm_path
    from contrastkit.evaluate.text_probe import text_linear_probe

    nouns = [s for s in load_wordnet(pos="n") if s.definition]
    random.Random(0).shuffle(nouns)
    train, test = nouns[:1500], nouns[1500:2000]
    enc = TextEncoder.from_pretrained(minilm_path(), max_length=64)
    report = text_linear_probe(
        enc.encode,
        [s.definition for s in train],
        [str(s.lexfile) for s in train],
        [s.definition for s in test],
        [str(s.lexfile) for s in test],
    )
    majority = max(sum(s.lexfile == c for s in test) for c in {s.lexfile for s in test}) / len(test)
    print(f"text probe accuracy {report.accuracy:.3f}, majority class {majority:.3f}")
    assert report.accuracy > majority + 0.2
