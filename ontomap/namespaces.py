"""Closed RDF namespaces and the names of pyoxigraph's term types.

:class:`Namespace` is the base of the generated vocabulary classes of :mod:`ontomap._vocabulary`:
every declared term is a real class attribute (a :class:`pyoxigraph.NamedNode`), so a type checker
sees each declared term and reports a misspelt one, and at run time the misspelling raises
AttributeError with a message naming the ontology file. :class:`ClosedNamespace` is the same idea
for a namespace read from a file at run time, whose names no checker can know.
"""

from __future__ import annotations

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
