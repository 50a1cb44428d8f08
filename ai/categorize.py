"""Category suggestions for a description (SPEC §16): `POST /ai/categorize/` and the
`suggested_category` of records created without one.

The answer comes from the first of: the book's own rules (`source: rules`); the book's
learned model when it is sure (`model`); built-in keywords over the category names
(`rules`, the rationale says keywords, for books too new to have a model); the model's
unsure guesses (`model`); nothing (`none`). With an LLM configured, a near tie of the
model's top two is put to it (`llm`); when it times out or fails the model's answer
stands and `fallback` says why. Only the book's categories and the system ones of the
kind are ever suggested; nothing is written.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.db.models import Q

from books.models import Book
from categories.models import Category
from categories.services import rules_match

from . import llm as llm_provider
from .classifier import Sample, normalise_text
from .training import load_model

TOP = 3
# Below this the model's first guess gives way to a keyword match.
MODEL_MIN_CONFIDENCE = 0.4
# The model's top two this close are a tie an LLM may break.
TIE_MARGIN = 0.1
RULE_CONFIDENCE = 1.0
OWN_NAME_CONFIDENCE = 0.7
KEYWORD_CONFIDENCE = 0.6

SOURCE_RULES = "rules"
SOURCE_MODEL = "model"
SOURCE_LLM = "llm"
SOURCE_NONE = "none"

# Words that point to a system category (SPEC §5), for books without a model yet. Matched
# as whole words of the normalised text (`classifier.normalise_text`).
KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "expense": {
        "Food": (
            "restaurant",
            "cafe",
            "coffee",
            "starbucks",
            "mcdonalds",
            "burger",
            "pizza",
            "sushi",
            "bakery",
            "bistro",
            "diner",
            "takeaway",
            "deliveroo",
            "doordash",
            "ubereats",
            "eats",
            "kfc",
            "lunch",
            "dinner",
            "breakfast",
            "bar",
            "pub",
        ),
        "Groceries": (
            "grocery",
            "groceries",
            "supermarket",
            "market",
            "aldi",
            "lidl",
            "tesco",
            "sainsbury",
            "sainsburys",
            "asda",
            "kroger",
            "safeway",
            "wholefds",
            "carrefour",
            "rewe",
            "edeka",
            "costco",
            "trader",
        ),
        "Rent": ("rent", "landlord", "lease", "mortgage", "tenancy"),
        "Transport": (
            "uber",
            "lyft",
            "taxi",
            "cab",
            "metro",
            "subway",
            "bus",
            "train",
            "rail",
            "fuel",
            "petrol",
            "gas",
            "shell",
            "bp",
            "esso",
            "parking",
            "toll",
            "tfl",
            "transit",
        ),
        "Utilities": (
            "electric",
            "electricity",
            "energy",
            "water",
            "internet",
            "broadband",
            "phone",
            "mobile",
            "verizon",
            "comcast",
            "vodafone",
            "utility",
            "utilities",
            "heating",
        ),
        "Entertainment": (
            "netflix",
            "spotify",
            "cinema",
            "movie",
            "movies",
            "concert",
            "theatre",
            "theater",
            "steam",
            "steamgames",
            "playstation",
            "xbox",
            "disney",
            "hulu",
            "tickets",
            "games",
        ),
        "Healthcare": (
            "pharmacy",
            "pharm",
            "doctor",
            "dental",
            "dentist",
            "hospital",
            "clinic",
            "medical",
            "cvs",
            "walgreens",
            "boots",
            "optician",
            "health",
        ),
        "Shopping": (
            "amazon",
            "amzn",
            "ebay",
            "shop",
            "store",
            "ikea",
            "zara",
            "walmart",
            "target",
            "mall",
            "clothing",
            "shoes",
            "etsy",
        ),
        "Education": (
            "school",
            "tuition",
            "course",
            "university",
            "college",
            "udemy",
            "coursera",
            "books",
            "textbook",
            "training",
        ),
        "Travel": (
            "hotel",
            "airbnb",
            "airline",
            "airlines",
            "flight",
            "booking",
            "expedia",
            "ryanair",
            "easyjet",
            "hostel",
            "airport",
        ),
    },
    "income": {
        "Salary": ("salary", "payroll", "wages", "wage", "paycheck"),
        "Freelance": ("invoice", "freelance", "upwork", "fiverr", "consulting", "client"),
        "Investments": ("dividend", "dividends", "interest", "broker", "brokerage", "coupon"),
        "Gifts": ("gift", "gifts", "present", "birthday"),
    },
}


def suggestable_categories(*, book: Book, kind: str) -> dict[int, tuple[str, bool]]:
    """id → (name, is system) of the categories a suggestion may name."""
    return {
        pk: (name, book_id is None)
        for pk, name, book_id in Category.objects.filter(
            Q(book=book) | Q(book__isnull=True), kind=kind
        ).values_list("pk", "name", "book_id")
    }


def _suggestion(category_id: int, name: str, confidence: float) -> dict[str, Any]:
    return {
        "category": category_id,
        "category_name": name,
        "confidence": round(min(max(confidence, 0.0), 1.0), 3),
    }


def _answer(
    suggestions: list[dict[str, Any]], source: str, rationale: str, fallback: str | None = None
) -> dict[str, Any]:
    return {
        "suggestions": suggestions[:TOP],
        "source": source,
        "rationale": rationale,
        "fallback": fallback,
    }


def _model_suggestions(
    *, book: Book, kind: str, sample: Sample, allowed: dict[int, tuple[str, bool]]
) -> list[dict[str, Any]]:
    model = load_model(book=book, kind=kind)
    if model is None:
        return []
    ranked = [
        (category_id, p)
        for category_id, p in model.ranked(sample, top=len(model.labels))
        if category_id in allowed
    ]
    return [_suggestion(pk, allowed[pk][0], p) for pk, p in ranked[:TOP] if p > 0]


def _keyword_suggestions(
    *, text: str, allowed: dict[int, tuple[str, bool]], kind: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Categories whose name, or (system ones) whose keywords, appear as words in `text`;
    the book's own category names first. Returns the suggestions and the first word."""
    words = set(text.split())
    found: list[tuple[float, int, str, str]] = []
    keywords = KEYWORDS.get(kind, {})
    for pk, (name, is_system) in allowed.items():
        phrase = normalise_text(name)
        if phrase and re.search(rf"(?:^| ){re.escape(phrase)}(?: |$)", text):
            confidence = KEYWORD_CONFIDENCE if is_system else OWN_NAME_CONFIDENCE
            found.append((confidence, pk, name, phrase))
            continue
        hits = sorted(words.intersection(keywords.get(name, ()))) if is_system else []
        if hits:
            found.append((KEYWORD_CONFIDENCE, pk, name, hits[0]))
    found.sort(key=lambda item: (-item[0], item[2].lower(), item[1]))
    suggestions = [_suggestion(pk, name, confidence) for confidence, pk, name, _ in found]
    return suggestions, (found[0][3] if found else None)


def _model_rationale(suggestions: list[dict[str, Any]]) -> str:
    first = suggestions[0]
    percent = round(first["confidence"] * 100)
    if first["confidence"] >= MODEL_MIN_CONFIDENCE:
        return (
            "Learned from this book's categorised records: most like its "
            f"“{first['category_name']}” records ({percent}% likely)."
        )
    return (
        "Learned from this book's categorised records, but unsure: "
        f"“{first['category_name']}” is only {percent}% likely."
    )


def _candidate_labels(suggestions: list[dict[str, Any]]) -> dict[str, int]:
    """Names to offer an LLM → category id; a name shared by two candidates (a book's
    category and a system one) is told apart by its id."""
    names = [s["category_name"] for s in suggestions]
    return {
        (name if names.count(name) == 1 else f"{name} (#{s['category']})"): s["category"]
        for name, s in zip(names, suggestions, strict=True)
    }


def _break_tie(
    *,
    suggestions: list[dict[str, Any]],
    description: str,
    merchant: str,
    amount: Decimal | None,
) -> dict[str, Any]:
    """The model's answer, reordered by the LLM's choice among the candidates (`llm`),
    or as it was with `fallback` set when the LLM is unavailable."""
    provider = llm_provider.llm()
    candidates = _candidate_labels(suggestions)
    text = f"{merchant} {description}".strip()
    try:
        chosen = provider.choose_category(text, list(candidates))
    except llm_provider.LLMUnavailable as exc:
        return _answer(suggestions, SOURCE_MODEL, _model_rationale(suggestions), exc.reason)
    if chosen not in candidates:  # no choice, or text naming no candidate: ignored
        return _answer(suggestions, SOURCE_MODEL, _model_rationale(suggestions))
    chosen_id = candidates[chosen]
    ordered = sorted(suggestions, key=lambda s: s["category"] != chosen_id)
    facts = {
        "description": description,
        "merchant": merchant,
        "amount": None if amount is None else format(amount, "f"),
        "chosen_category": ordered[0]["category_name"],
        "alternatives": [s["category_name"] for s in ordered[1:]],
        "model_confidence": {s["category_name"]: s["confidence"] for s in ordered},
    }
    fallback = None
    try:
        rationale = provider.rationale(facts)
    except llm_provider.LLMUnavailable as exc:
        rationale, fallback = None, exc.reason
    if not rationale:
        rationale = (
            f"The learned model found “{ordered[0]['category_name']}” and "
            f"“{ordered[1]['category_name']}” about equally likely; the language model "
            f"chose “{ordered[0]['category_name']}”."
        )
    return _answer(ordered, SOURCE_LLM, rationale, fallback)


def categorize(
    *,
    book: Book,
    kind: str,
    description: str,
    merchant: str = "",
    amount: Decimal | None = None,
) -> dict[str, Any]:
    """Up to three suggested categories for a record of `kind` in `book`, best first:
    `{suggestions: [{category, category_name, confidence}], source, rationale, fallback}`.

    `amount` is in the book's base currency. Reads only; never trains (a book without a
    stored model is answered by rules and keywords).
    """
    category, _ = rules_match(kind=kind, description=description, merchant=merchant, book=book)
    if category is not None:
        return _answer(
            [_suggestion(category.pk, category.name, RULE_CONFIDENCE)],
            SOURCE_RULES,
            f"One of this book's categorisation rules puts it in “{category.name}”.",
        )
    allowed = suggestable_categories(book=book, kind=kind)
    sample = Sample(description=description, merchant=merchant, amount=amount)
    model_suggestions = _model_suggestions(book=book, kind=kind, sample=sample, allowed=allowed)
    confident = bool(model_suggestions) and (
        model_suggestions[0]["confidence"] >= MODEL_MIN_CONFIDENCE
    )
    if not confident:
        text = normalise_text(description, merchant)
        keyword_suggestions, word = _keyword_suggestions(text=text, allowed=allowed, kind=kind)
        if keyword_suggestions:
            why = "no learned model yet" if not model_suggestions else "the learned model is unsure"
            return _answer(
                keyword_suggestions,
                SOURCE_RULES,
                f"Built-in keywords ({why}): “{word}” suggests "
                f"“{keyword_suggestions[0]['category_name']}”.",
            )
    if not model_suggestions:
        return _answer(
            [],
            SOURCE_NONE,
            "No rule, learned pattern or keyword matches; this book has too few categorised "
            "records like it to suggest a category.",
        )
    tie = (
        len(model_suggestions) >= 2
        and model_suggestions[0]["confidence"] - model_suggestions[1]["confidence"] <= TIE_MARGIN
    )
    if tie and llm_provider.llm().enabled:
        return _break_tie(
            suggestions=model_suggestions, description=description, merchant=merchant, amount=amount
        )
    return _answer(model_suggestions, SOURCE_MODEL, _model_rationale(model_suggestions))
