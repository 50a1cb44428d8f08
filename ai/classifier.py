"""The learned categoriser itself (SPEC §16): features, fitting and prediction, pure.

Text features are character n-grams (2–4, within words) of the normalised
"merchant description", plus word unigrams and bigrams, so `AMZN MKTP US*2K3L1` and
`AMZN MKTP US*9QX70` read alike; the amount adds a one-hot log-scale bucket (a coffee
and a rent payment differ by size as much as by name). A multinomial logistic
regression on top gives probabilities a caller can threshold.

Nothing here touches Django or the database: `ai.training` feeds it rows and stores
what `fit` returns; `ai.categorize` asks it for probabilities.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from scipy import sparse

# Bump when the pickled shape changes: a stored model of another version is not loaded.
FORMAT_VERSION = 1

MAX_FEATURES = 20_000
# log2 buckets of the amount: below 1, 1–2, 2–4 … up to 2^16 and above; one for "unknown".
AMOUNT_BUCKETS = 18

# Bank noise: reference codes after `*` or `#` (`US*2K3L1`, `#1234`), card tails,
# dates and other numbers carry no meaning for the category.
_CODE = re.compile(r"[*#]\s*(?=[a-z]*\d)[a-z0-9]+")
_DIGITS = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise_text(description: str, merchant: str = "") -> str:
    """Lowercased "merchant description" with reference codes dropped, every run of
    digits written as `0`, punctuation as spaces."""
    text = f"{merchant or ''} {description or ''}".lower()
    text = _CODE.sub(" ", text)
    text = _DIGITS.sub("0", text)
    return " ".join(_NOT_WORD.sub(" ", text).split())


def amount_bucket(amount: Decimal | float | None) -> int:
    """The amount's log2 bucket (0 … AMOUNT_BUCKETS-2), or the last one when unknown."""
    if amount is None:
        return AMOUNT_BUCKETS - 1
    value = float(amount)
    if not math.isfinite(value) or value <= 0:
        return AMOUNT_BUCKETS - 1
    return int(min(max(math.floor(math.log2(value)) + 1, 0), AMOUNT_BUCKETS - 2))


@dataclass(frozen=True)
class Sample:
    """One record as the categoriser sees it."""

    description: str
    merchant: str = ""
    amount: Decimal | float | None = None


def _amount_matrix(samples: Sequence[Sample]) -> sparse.csr_matrix:
    rows = np.arange(len(samples))
    cols = np.fromiter((amount_bucket(s.amount) for s in samples), dtype=np.int64)
    data = np.ones(len(samples), dtype=np.float64)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(samples), AMOUNT_BUCKETS))


class Categoriser:
    """A fitted text + amount classifier over category ids (`labels`)."""

    def __init__(self, *, chars: Any, words: Any, classifier: Any) -> None:
        self.chars = chars
        self.words = words
        self.classifier = classifier
        self.format_version = FORMAT_VERSION

    @property
    def labels(self) -> list[int]:
        return [int(label) for label in self.classifier.classes_]

    def _features(self, samples: Sequence[Sample]) -> sparse.csr_matrix:
        texts = [normalise_text(s.description, s.merchant) for s in samples]
        return sparse.hstack(
            [self.chars.transform(texts), self.words.transform(texts), _amount_matrix(samples)],
            format="csr",
        )

    def probabilities(self, samples: Sequence[Sample]) -> np.ndarray:
        """One row per sample, one column per label (`labels` order), summing to 1."""
        # The linear scores and their softmax (logistic for two labels), as predict_proba
        # computes them, without its per-call input validation (~1 ms of a 2 ms request).
        scores = self._features(samples) @ self.classifier.coef_.T + self.classifier.intercept_
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        return scores / scores.sum(axis=1, keepdims=True)

    def predict(self, samples: Sequence[Sample]) -> list[int]:
        labels = np.asarray(self.labels)
        return [int(label) for label in labels[self.probabilities(samples).argmax(axis=1)]]

    def ranked(self, sample: Sample, *, top: int = 3) -> list[tuple[int, float]]:
        """The `top` most likely (category id, probability) for one sample, best first."""
        row = self.probabilities([sample])[0]
        order = np.argsort(-row)[:top]
        labels = self.labels
        return [(labels[i], float(row[i])) for i in order]


def fit(samples: Sequence[Sample], labels: Sequence[int]) -> Categoriser:
    """A categoriser fitted on `samples` → `labels` (at least two distinct labels).

    scikit-learn is imported here, not at module level: it costs about a second at
    start-up and only fitting names it (unpickling a model imports what it needs)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(set(labels)) < 2:
        raise ValueError("a categoriser needs records of at least two categories")
    texts = [normalise_text(s.description, s.merchant) for s in samples]
    min_df = 2 if len(texts) >= 200 else 1
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        min_df=min_df,
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        min_df=min_df,
        max_features=MAX_FEATURES // 4,
        sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b",
        dtype=np.float32,
    )
    features = sparse.hstack(
        [chars.fit_transform(texts), words.fit_transform(texts), _amount_matrix(samples)],
        format="csr",
    )
    classifier = LogisticRegression(C=10.0, max_iter=200, tol=1e-3)
    classifier.fit(features, np.asarray(labels))
    # Only transform() is needed later: the dropped-terms set can be as large as the
    # vocabulary, and weights stored as float32 halve the payload without changing ranks.
    for vectorizer in (chars, words):
        if hasattr(vectorizer, "stop_words_"):
            vectorizer.stop_words_ = None
    classifier.coef_ = classifier.coef_.astype(np.float32)
    classifier.intercept_ = classifier.intercept_.astype(np.float32)
    return Categoriser(chars=chars, words=words, classifier=classifier)


def accuracy(model: Categoriser, samples: Sequence[Sample], labels: Sequence[int]) -> float:
    """Top-1 accuracy on held-out samples (labels the model never saw count as misses)."""
    if not samples:
        return 0.0
    predicted = model.predict(samples)
    return sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(samples)
