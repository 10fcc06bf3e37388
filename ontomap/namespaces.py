"""Closed RDF namespaces and the names of pyoxigraph's term types.

:class:`Namespace` is the base of the generated vocabulary classes of :mod:`ontomap._vocabulary`:
every declared term is a real class attribute (a :class:`pyoxigraph.NamedNode`), so a type checker
sees each declared term and reports a misspelt one, and at run time the misspelling raises
AttributeError with a message naming the ontology file. :class:`ClosedNamespace` is the same idea
for a namespace read from a file at run time, whose names no checker can know.

:class:`Compactor` turns IRIs into CURIEs with a prefix map: the one way ontomap shortens an IRI
(query tables, JSON-LD, code look-up).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, TypeAlias

import pyoxigraph as ox

#: Any RDF term pyoxigraph hands out as a subject, predicate or object (pyoxigraph has no
#: common base class; ``pyoxigraph.Term`` does not exist).
Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
#: A term that can be the subject of a triple.
Subject: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Triple
#: A graph name of a quad.
GraphName: TypeAlias = ox.NamedNode | ox.BlankNode | ox.DefaultGraph


class Namespace:
    """A closed namespace: its declared terms are the class attributes of a subclass.

    Subclasses set ``iri`` and ``source`` and list each term as ``name = NamedNode(iri + name)``.
    """

    __slots__ = ()

    iri: ClassVar[str] = ""
    #: The file of ``ontologies/`` that declares the terms.
    source: ClassVar[str] = "oifm.ttl"
    _names: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._names = frozenset(
            name for name, value in vars(cls).items() if isinstance(value, ox.NamedNode)
        )

    @property
    def names(self) -> frozenset[str]:
        """The local names of the declared terms."""
        return self._names

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.iri} ({len(self._names)} terms)>"

    if not TYPE_CHECKING:
        # Hidden from type checkers, so that they report an undeclared name; at run time it only
        # runs when ordinary lookup failed, to say where the names are declared.
        def __getattr__(self, name: str) -> ox.NamedNode:
            raise AttributeError(
                f"{name!r} is not declared in {self.iri} (see ontologies/{self.source})"
            )


class ClosedNamespace:
    """A namespace whose terms are read at run time: unknown names raise AttributeError.

    Type checkers cannot see its names; prefer a generated :class:`Namespace` where one exists.
    """

    __slots__ = ("_terms", "iri", "source")

    def __init__(self, iri: str, names: frozenset[str], source: str = "oifm.ttl") -> None:
        self.iri = iri
        self.source = source
        self._terms = {name: ox.NamedNode(iri + name) for name in names}

    def __getattr__(self, name: str) -> ox.NamedNode:
        try:
            return self._terms[name]
        except KeyError:
            raise AttributeError(
                f"{name!r} is not declared in {self.iri} (see ontologies/{self.source})"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._terms

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._terms)


class Compactor:
    """IRIs shortened to ``prefix:local`` with a fixed prefix map: the longest namespace whose
    remainder is a local name (any non-empty remainder, or one that ``local`` matches whole;
    a shorter namespace where the longest leaves a remainder ``local`` refuses; the first name
    declared where two share a namespace).

    Built once per prefix map: the namespaces, longest first, make one regular expression, so a
    look-up is one match in C rather than a loop over the namespaces in Python. Hand-written
    rather than a ``curies.Converter``: importing curies (with pydantic) costs 0.12-0.2 s,
    which the lookup and query paths must not pay, and over the 50,271 distinct IRIs of the
    corpus's graph (15 prefixes; same answers) :meth:`split` takes 0.03-0.04 s against 0.16-0.18
    s for ``Converter.compress`` (medians of 5, three runs on a busy 2-core machine; the scan
    over the namespaces it replaces took 0.07-0.10 s).
    """

    __slots__ = ("_fits", "_names", "_namespaces", "_pattern", "prefix_map")

    def __init__(self, prefix_map: Mapping[str, str], local: re.Pattern[str] | None = None) -> None:
        self.prefix_map: dict[str, str] = dict(prefix_map)
        self._names: dict[str, str] = {}
        for name, namespace in self.prefix_map.items():
            self._names.setdefault(namespace, name)
        self._namespaces = sorted(self._names, key=len, reverse=True)
        # Alternatives are tried in order: the first that matches is the longest namespace.
        alternatives = "|".join(map(re.escape, self._namespaces))
        self._pattern = re.compile(alternatives if self._namespaces else "(?!)")
        self._fits = None if local is None else local.fullmatch

    def split(self, iri: str) -> tuple[str, str] | None:
        """``(prefix, local)`` of ``iri``, or ``None`` where no namespace fits."""
        match = self._pattern.match(iri)
        if match is None:
            return None
        cut = match.end()
        fits = self._fits
        if cut < len(iri) if fits is None else fits(iri, cut):
            return self._names[match.group()], iri[cut:]
        for namespace in self._namespaces:  # the shorter namespaces that fit, longest first
            size = len(namespace)
            if size < cut and iri.startswith(namespace) and (fits is None or fits(iri, size)):
                return self._names[namespace], iri[size:]
        return None

    def compact(self, iri: str) -> str | None:
        """``iri`` as a CURIE, or ``None`` where no namespace fits."""
        split = self.split(iri)
        return None if split is None else f"{split[0]}:{split[1]}"
