"""The IRI compactor (:class:`ontomap.namespaces.Compactor`), checked by hand and against curies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import curies
import pytest

from ontomap.graph import known_prefixes
from ontomap.model import IndexCode
from ontomap.namespaces import Compactor

# The local names of query tables (ontomap.query.compact), written out here on their own.
TABLE_LOCAL = re.compile(r"[\w%-]*(?:[\w.%-]*[\w%-])?")


def test_the_longest_namespace_wins_whatever_the_order() -> None:
    prefixes = {"a": "http://x.org/", "ab": "http://x.org/b/", "abc": "http://x.org/b/c#"}
    for order in (prefixes, dict(reversed(prefixes.items()))):
        compactor = Compactor(order)
        assert compactor.compact("http://x.org/b/c#d") == "abc:d"
        assert compactor.compact("http://x.org/b/d") == "ab:d"
        assert compactor.compact("http://x.org/d/e") == "a:d/e"
        assert compactor.split("http://x.org/b/c#d") == ("abc", "d")


def test_no_namespace_and_an_empty_local_name_give_none() -> None:
    compactor = Compactor({"a": "http://x.org/"})
    assert compactor.compact("http://y.org/1") is None
    assert compactor.compact("http://x.org/") is None  # the namespace itself names nothing
    assert compactor.compact("http://x.org") is None
    assert Compactor({}).compact("http://x.org/1") is None
    # a namespace that is the whole IRI leaves it to a shorter one
    nested = Compactor({"a": "http://x.org/", "ab": "http://x.org/b/"})
    assert nested.compact("http://x.org/b/") == "a:b/"
    # namespaces are matched as text, not as patterns
    assert Compactor({"d": "http://x.org/a.b/"}).compact("http://x.org/aXb/1") is None


def test_a_refused_local_name_falls_back_to_a_shorter_namespace() -> None:
    compactor = Compactor({"a": "http://x.org/", "ab": "http://x.org/b/"}, TABLE_LOCAL)
    assert compactor.compact("http://x.org/b/c") == "ab:c"
    assert compactor.compact("http://x.org/b/c/d") is None  # "/" fits no local name here
    assert compactor.compact("http://x.org/b.") is None  # nor a final dot
    assert compactor.compact("http://x.org/b") == "a:b"
    # the table rule takes the empty local name: the namespace itself as "prefix:"
    assert compactor.compact("http://x.org/") == "a:"
    # without a rule any non-empty remainder is a local name, spaces and newlines too
    assert Compactor({"a": "http://x.org/"}).compact("http://x.org/b c\nd") == "a:b c\nd"


def test_the_first_name_of_a_shared_namespace_wins() -> None:
    iri = "http://x.org/1"
    assert Compactor({"one": "http://x.org/", "two": "http://x.org/"}).compact(iri) == "one:1"
    assert Compactor({"two": "http://x.org/", "one": "http://x.org/"}).compact(iri) == "two:1"


def test_the_prefix_map_is_copied() -> None:
    prefixes = {"a": "http://x.org/"}
    compactor = Compactor(prefixes)
    prefixes["b"] = "http://x.org/b/"
    assert compactor.compact("http://x.org/b/1") == "a:b/1"
    assert compactor.prefix_map == {"a": "http://x.org/"}


def _corpus_iris(defs: Path) -> set[str]:
    """The IRIs the corpus's graph holds, written out from the JSON: every index code's (as
    ontomap.model writes it), every OIFM ID under the base IRI, and each vocabulary namespace
    with a term under it."""
    prefixes = known_prefixes()
    iris = {namespace + "term" for namespace in prefixes.values()}
    for path in sorted(defs.glob("*.fm.json")):
        _collect(json.loads(path.read_text("utf-8")), prefixes["fm"], iris)
    return iris


def _collect(value: object, base: str, iris: set[str]) -> None:
    if isinstance(value, dict):
        if {"system", "code"} <= value.keys():
            iris.add(IndexCode.of(value["system"], value["code"]).iri)
        for key in ("oifm_id", "oifma_id", "value_code"):
            if isinstance(value.get(key), str):
                iris.add(base + value[key])
        for item in value.values():
            _collect(item, base, iris)
    elif isinstance(value, list):
        for item in value:
            _collect(item, base, iris)


@pytest.fixture(scope="module")
def corpus_iris(corpus_defs: Path) -> list[str]:
    iris = sorted(_corpus_iris(corpus_defs))
    assert len(iris) > 40_000  # 55,700 code uses, 2,382 findings and their attributes
    return iris


def test_the_corpus_iris_compact_as_curies_compresses_them(corpus_iris: list[str]) -> None:
    prefixes = known_prefixes()
    reference = curies.Converter.from_prefix_map(prefixes)
    compactor = Compactor(prefixes)
    compacted = 0
    for iri in corpus_iris:
        expected = reference.compress(iri)
        assert compactor.compact(iri) == expected, iri
        compacted += expected is not None
    assert compacted > 40_000


def test_the_table_rule_keeps_curies_answer_where_its_local_name_is_plain(
    corpus_iris: list[str],
) -> None:
    prefixes = known_prefixes()
    reference = curies.Converter.from_prefix_map(prefixes)
    compactor = Compactor(prefixes, TABLE_LOCAL)
    plain = 0
    for iri in corpus_iris:
        expected = reference.compress(iri)
        ours = compactor.compact(iri)
        if expected is not None and TABLE_LOCAL.fullmatch(expected.split(":", 1)[1]):
            assert ours == expected, iri
            plain += 1
        elif ours is not None:  # a shorter namespace whose remainder is plain
            name, local = ours.split(":", 1)
            assert TABLE_LOCAL.fullmatch(local) and prefixes[name] + local == iri
            assert expected is not None and len(prefixes[name]) < len(iri) - len(
                expected.split(":", 1)[1]
            )
    assert plain > 40_000
