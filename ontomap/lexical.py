"""Displays compared as text: the normalisation and similarity the crosswalk pairs codes with.

When one entity lists several codes of each of two systems (an attribute indexed with 18 RadLex
and 33 SNOMED CT codes for different structures), co-indexing alone cannot say which code goes
with which; the displays the author wrote beside the codes can. :func:`pair_displays` pairs the
codes of one entity by their displays; :mod:`ontomap.crosswalk` records the pairs it finds as
lexical evidence (``semapv:LexicalMatching``) and the others as co-listed.

**Normalisation** (:func:`normalise`), in order:

1. Unicode compatibility decomposition (NFKD), accents dropped, case folded;
2. trailing SNOMED CT semantic tags removed, repeatedly: ``"Presence (property) (qualifier
   value)"`` → ``"presence"`` (only the tags in :data:`SEMANTIC_TAGS`; other parentheses stay);
3. every run of characters that are not letters or digits becomes a word break
   (``"non-enhancing"`` → ``non enhancing``, ``"T2/FLAIR"`` → ``t2 flair``);
4. the words of SNOMED CT's body-structure idiom and articles (:data:`FILLER_WORDS`:
   ``structure``, ``entire``, ``of``, ``the``, ``a``, ``an``) are dropped, unless nothing else
   is left: ``"Liver structure (body structure)"``, ``"Structure of liver"`` and
   ``"Entire liver"`` all become ``liver``;
5. the words are sorted, so word order does not matter (``"kidney, left"`` = ``"left kidney"``).

**Similarity** (:func:`similarity`): 1.0 for equal normal forms, else the normalised Indel
similarity of the two normal forms (rapidfuzz ``fuzz.ratio`` / 100 — on sorted words, the
``token_sort_ratio``): 1 − (characters inserted or deleted to turn one into the other) / (their
total length).

**A lexical match** (:func:`is_match`) needs equal normal forms, or the same number of words and
a similarity of at least :data:`MIN_SCORE` (0.92). The word count guards against a short word
that changes the meaning: ``"no motor response"`` / ``"motor response"`` score 0.90 and
``"no acute hemorrhage"`` / ``"acute hemorrhage"`` 0.91; the threshold keeps a one-letter
difference in a long word (``"haemorrhage"`` / ``"hemorrhage"`` 0.95, ``"kidney"`` /
``"kidneys"`` 0.92) and rejects ``"coccygeus"`` / ``"pubococcygeus"`` (0.82),
``"left ureter"`` / ``"right ureter"`` (0.70) and ``"hyperattenuating"`` /
``"hypoattenuating"`` (0.90). Within one entity a pair is kept only when neither code has a
better-scoring match (ties kept), so a near miss never wins over an exact partner. A score
cannot tell ``hyper`` from ``hypo`` in a longer phrase (``"hyperattenuating lesion"`` /
``"hypoattenuating lesion"`` 0.93): the best-match rule only helps when the right partner is
listed too.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from rapidfuzz.distance import Indel

__all__ = [
    "FILLER_WORDS",
    "MIN_SCORE",
    "SEMANTIC_TAGS",
    "DisplayPair",
    "is_match",
    "normal_form",
    "normalise",
    "pair_displays",
    "similarity",
]

#: The lowest similarity of two displays with the same number of words that still pairs them.
MIN_SCORE = 0.92

#: SNOMED CT semantic tags (the parenthesised hierarchy name that ends a fully specified name).
SEMANTIC_TAGS = frozenset(
    {
        "administration method",
        "assessment scale",
        "attribute",
        "basic dose form",
        "body structure",
        "cell",
        "cell structure",
        "clinical drug",
        "core metadata concept",
        "disorder",
        "disposition",
        "dose form",
        "environment",
        "environment / location",
        "ethnic group",
        "event",
        "finding",
        "foundation metadata concept",
        "geographic location",
        "inactive concept",
        "intended site",
        "life style",
        "link assertion",
        "linkage concept",
        "medicinal product",
        "medicinal product form",
        "metadata",
        "morphologic abnormality",
        "namespace concept",
        "navigational concept",
        "number",
        "observable entity",
        "occupation",
        "organism",
        "person",
        "physical force",
        "physical object",
        "procedure",
        "product",
        "product name",
        "property",
        "qualifier value",
        "racial group",
        "record artifact",
        "regime/therapy",
        "release characteristic",
        "religion/philosophy",
        "role",
        "situation",
        "social concept",
        "special concept",
        "specimen",
        "staging scale",
        "state of matter",
        "substance",
        "supplier",
        "transformation",
        "tumor staging",
        "unit of presentation",
    }
)

#: Words dropped from a normal form: SNOMED CT's body-structure idiom and English articles.
FILLER_WORDS = frozenset({"structure", "entire", "of", "the", "a", "an"})

_TAG = re.compile(r"\s*\(([^()]*)\)\s*$")
_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1 << 16)
def normalise(display: str) -> str:
    """The normal form of ``display`` (see the module doc): lower-case words, sorted, joined by
    single spaces; ``""`` for a display with no letters or digits."""
    text = unicodedata.normalize("NFKD", display)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()
    while (tag := _TAG.search(text)) is not None and tag.group(1).strip() in SEMANTIC_TAGS:
        text = text[: tag.start()]
    words = _WORD.findall(text)
    kept = [word for word in words if word not in FILLER_WORDS] or words
    return " ".join(sorted(kept))


#: ASCII characters other than letters and digits, each a word break (``[^\W_]`` in ASCII).
_ASCII_BREAKS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def normal_form(text: str) -> str:
    """:func:`normalise` of ``text``, without its cache, and faster for ASCII text (no Unicode
    decomposition needed): for names seen once each, such as a release's 1.6 M descriptions."""
    if not text.isascii():
        return normalise.__wrapped__(text)  # type: ignore[attr-defined,no-any-return]
    text = text.lower().strip()
    if text.endswith(")"):
        while (tag := _TAG.search(text)) is not None and tag.group(1).strip() in SEMANTIC_TAGS:
            text = text[: tag.start()]
    words = text.translate(_ASCII_BREAKS).split()
    kept = [word for word in words if word not in FILLER_WORDS] or words
    kept.sort()
    return " ".join(kept)


def normal_form_rules() -> str:
    """A fingerprint of the rules behind a normal form (filler words, semantic tags): a record
    of normal forms written under other rules is not to be trusted."""
    rules = "\n".join(["1", *sorted(FILLER_WORDS), "", *sorted(SEMANTIC_TAGS)])
    return hashlib.sha256(rules.encode()).hexdigest()[:16]


def _score(left: str, right: str) -> float:
    """Similarity of two normal forms."""
    if left == right:
        return 1.0
    return float(Indel.normalized_similarity(left, right))


def similarity(left: str, right: str) -> float:
    """Similarity of two displays, 0–1: 1.0 when their normal forms are equal, else the
    normalised Indel similarity of the normal forms (rapidfuzz)."""
    return _score(normalise(left), normalise(right))


def _match(left: str, right: str, score: float) -> bool:
    if left == right:
        return bool(left)
    return score >= MIN_SCORE and left.count(" ") == right.count(" ")


def is_match(left: str, right: str) -> bool:
    """Whether two displays match: equal normal forms, or the same number of words and a
    similarity of at least :data:`MIN_SCORE`."""
    a, b = normalise(left), normalise(right)
    return _match(a, b, _score(a, b))


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class DisplayPair(Generic[K]):
    """Two codes of one entity compared by their displays: the best ``score`` over their
    displays, and whether they are ``paired`` (a match, each the other's best)."""

    left: K
    right: K
    score: float
    paired: bool


def pair_displays(
    left: Sequence[tuple[K, Iterable[str]]], right: Sequence[tuple[K, Iterable[str]]]
) -> list[DisplayPair[K]]:
    """Every (left code, right code) of one entity, scored and paired by display.

    ``left`` and ``right`` list the codes of each system with the displays given to them (a
    code without a display scores 0 and pairs with nothing). A pair is ``paired`` when its
    displays match (:func:`is_match`) and no other match of either code scores higher (ties
    are all kept). Pairs come in input order.
    """
    forms_left = [(key, sorted({normalise(d) for d in displays})) for key, displays in left]
    forms_right = [(key, sorted({normalise(d) for d in displays})) for key, displays in right]
    scored: list[tuple[K, K, float, bool]] = []
    best_left: dict[K, float] = {}
    best_right: dict[K, float] = {}
    for a, forms_a in forms_left:
        for b, forms_b in forms_right:
            score, matched = 0.0, False
            for x in forms_a:
                for y in forms_b:
                    s = _score(x, y) if x and y else 0.0
                    m = bool(x and y) and _match(x, y, s)
                    if (m, s) > (matched, score):
                        score, matched = s, m
            scored.append((a, b, score, matched))
            if matched:
                best_left[a] = max(best_left.get(a, 0.0), score)
                best_right[b] = max(best_right.get(b, 0.0), score)
    return [
        DisplayPair(a, b, score, matched and score >= max(best_left[a], best_right[b]))
        for a, b, score, matched in scored
    ]
