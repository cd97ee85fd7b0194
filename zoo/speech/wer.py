"""Word error rate with the text normaliser our speech benchmarks document: lowercase, hyphens to spaces,
punctuation except apostrophes removed, whitespace collapsed; words aligned by jiwer (Levenshtein)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_PUNCTUATION = re.compile(r"[^\w\s']")


def normalize(text: str) -> str:
    """The text as WER compares it.

    >>> normalize("It's a well-known FACT, isn't it?")
    "it's a well known fact isn't it"
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = re.sub(r"[-\u2010-\u2015]", " ", text)
    text = _PUNCTUATION.sub("", text).replace("_", "")
    return " ".join(text.split())


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words) after normalising both texts."""
    import jiwer
    ref, hyp = normalize(reference), normalize(hypothesis)
    n_ref = len(ref.split())
    if not ref:
        return len(hyp.split()), 0
    if not hyp:
        return n_ref, n_ref
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, n_ref


def wer(references: Sequence[str] | str, hypotheses: Sequence[str] | str) -> float:
    """Corpus WER: total word errors over total reference words (texts normalised first).

    >>> wer(["The birch canoe slid."], ["the birch can use lid"])
    0.5
    """
    if isinstance(references, str):
        references, hypotheses = [references], [hypotheses]
    if len(references) != len(hypotheses):
        raise ValueError(f"wer: {len(references)} references but {len(hypotheses)} hypotheses")
    errors = words = 0
    for ref, hyp in zip(references, hypotheses):
        e, n = word_errors(ref, hyp)
        errors, words = errors + e, words + n
    if words == 0:
        raise ValueError("wer: the references have no words")
    return errors / words
