"""Check an OWL ontology with the HermiT reasoner, through owlready2.

:func:`reason` reads an ontology file (RDF/XML, Turtle or N-Triples), loads it into an owlready2
:class:`~owlready2.World` of its own, runs HermiT on that world (``owlready2.sync_reasoner``) and
reports whether the ontology is consistent and which classes are unsatisfiable.

HermiT is a Java program shipped inside owlready2, so a Java runtime must be installed;
:func:`find_java` looks for it and :class:`JavaNotFoundError` says how to install one.
owlready2 is imported only here, when reasoning is asked for.

>>> report = reason("findings.owl")  # doctest: +SKIP
>>> report.consistent, report.unsatisfiable  # doctest: +SKIP
(True, ())
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
import types
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ontomap.errors import ExitCode, MissingDependencyError, OntomapError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import owlready2

__all__ = [
    "JAVA_INSTALL_HINT",
    "JavaNotFoundError",
    "OntologyReadError",
    "OwlreadyMissingError",
    "ReasonerError",
    "ReasonerReport",
    "find_java",
    "load_world",
    "reason",
    "require_owlready2",
]

#: What to do when Java is missing (said once, in the error message).
JAVA_INSTALL_HINT = (
    "install a Java runtime (Debian/Ubuntu: apt-get install default-jre-headless) "
    "or pass the java executable with --java"
)


class OwlreadyMissingError(MissingDependencyError):
    """owlready2, which runs HermiT, is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "`ontomap reason` needs owlready2, which is not installed; "
            "install it with: pip install owlready2"
        )


def require_owlready2() -> types.ModuleType:
    """The owlready2 module, imported on first use; :class:`OwlreadyMissingError` without it."""
    try:
        import owlready2
    except ImportError:
        raise OwlreadyMissingError() from None
    return owlready2


class ReasonerError(OntomapError):
    """The reasoner could not run to the end (Java or HermiT failed)."""

    exit_code = ExitCode.USAGE


class JavaNotFoundError(ReasonerError):
    """No Java runtime to run HermiT with."""

    def __init__(self, java: str | None = None) -> None:
        self.java = java
        where = f"at {java!r}" if java else "on PATH or in $JAVA_HOME"
        super().__init__(f"HermiT needs Java, which was not found {where}; {JAVA_INSTALL_HINT}")


class OntologyReadError(OntomapError):
    """The ontology file cannot be read as RDF."""

    exit_code = ExitCode.USAGE

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True, slots=True)
class ReasonerReport:
    """What HermiT found in one ontology.

    ``unsatisfiable`` holds ``(IRI, label)`` of each class equivalent to ``owl:Nothing``
    (label ``None`` where the class has none), sorted by IRI; it is empty when the ontology is
    inconsistent, since then nothing can be classified.
    """

    path: Path
    consistent: bool
    unsatisfiable: tuple[tuple[str, str | None], ...]
    classes: int
    seconds: float

    @property
    def ok(self) -> bool:
        """Consistent, with no unsatisfiable class."""
        return self.consistent and not self.unsatisfiable


def find_java(java: str | None = None) -> str:
    """The Java executable to run HermiT with: ``java`` if given (a path or a command name),
    else ``java`` on ``PATH``, else ``$JAVA_HOME/bin/java``. Raises :class:`JavaNotFoundError`."""
    if java is not None:
        found = shutil.which(java)
        if found is None:
            raise JavaNotFoundError(java)
        return found
    found = shutil.which("java")
    if found is not None:
        return found
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = shutil.which(str(Path(home) / "bin" / "java"))
        if candidate is not None:
            return candidate
    raise JavaNotFoundError()


def _rdf_format(path: Path, head: bytes) -> ox.RdfFormat:
    """RDF/XML when the file starts like XML, N-Triples for ``.nt``, else Turtle."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith((b"<?xml", b"<rdf:RDF", b"<!DOCTYPE", b"<!--")):
        return ox.RdfFormat.RDF_XML
    if path.name.lower().endswith(".nt"):
        return ox.RdfFormat.N_TRIPLES
    return ox.RdfFormat.TURTLE


def load_world(
    path: Path | str, *, annotations: bool = True
) -> tuple[owlready2.World, owlready2.Ontology]:
    """Load an ontology file into a new owlready2 world of its own (close it when done).

    The file is parsed by Oxigraph (RDF/XML, Turtle or N-Triples, told apart by content and
    extension), so a syntax error is reported with its line and column, and handed to owlready2
    as N-Triples. ``owl:imports`` are not followed: the reasoner sees this file only. With
    ``annotations=False``, annotation assertions other than ``rdfs:label`` are left out: they
    have no bearing on reasoning (OWL 2 Direct Semantics ignores them). Raises
    :class:`OntologyReadError`.
    """
    owl = require_owlready2()
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except FileNotFoundError:
        raise OntologyReadError(path, "no such file") from None
    except OSError as exc:
        raise OntologyReadError(path, f"cannot read: {exc.strerror}") from None
    fmt = _rdf_format(path, head)
    try:
        triples = list(ox.parse(path=str(path), format=fmt))
    except SyntaxError as exc:
        raise OntologyReadError(path, f"not valid {fmt.name}: {exc}") from None
    if not annotations:
        triples = _without_annotations(triples)
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert data is not None  # serialize returns the bytes when given no output
    world = owl.World()
    try:
        onto = world.get_ontology(path.resolve().as_uri())
        onto.graph.parse(io.BytesIO(data), format="ntriples", delete_existing_triples=False)
    except BaseException:
        world.close()
        raise
    return world, onto


_OWL_NS = "http://www.w3.org/2002/07/owl#"
_RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_ANNOTATION_PROPERTY = ox.NamedNode(_OWL_NS + "AnnotationProperty")
#: OWL 2's built-in annotation properties, but rdfs:label, which the report shows.
_BUILTIN_ANNOTATIONS = frozenset(
    [_RDFS_NS + name for name in ("comment", "seeAlso", "isDefinedBy")]
    + [
        _OWL_NS + name
        for name in (
            "versionInfo",
            "deprecated",
            "priorVersion",
            "backwardCompatibleWith",
            "incompatibleWith",
        )
    ]
)


def _without_annotations(triples: list[ox.Triple]) -> list[ox.Triple]:
    """``triples`` less the assertions of annotation properties (declared or built in), except
    ``rdfs:label``; declarations stay."""
    declared = {
        t.subject.value
        for t in triples
        if t.predicate.value == _RDF_TYPE
        and isinstance(t.subject, ox.NamedNode)
        and t.object == _ANNOTATION_PROPERTY
    }
    dropped = (declared | _BUILTIN_ANNOTATIONS) - {_RDFS_NS + "label"}
    return [t for t in triples if t.predicate.value not in dropped]


_JAVA_LOCK = threading.Lock()


@contextmanager
def _owlready_java(java: str, memory_mb: int | None) -> Iterator[None]:
    """Point owlready2 at ``java`` (and a heap size) for one run.

    owlready2 reads both from module globals only, so they are set for the run and restored
    afterwards, under a lock.
    """
    owl = require_owlready2()
    owl_reasoning = owl.reasoning

    with _JAVA_LOCK:
        saved = owl.JAVA_EXE, owl_reasoning.JAVA_MEMORY
        setattr(owl, "JAVA_EXE", java)  # noqa: B010 (not a declared attribute to a checker)
        if memory_mb is not None:
            owl_reasoning.JAVA_MEMORY = memory_mb
        try:
            yield
        finally:
            setattr(owl, "JAVA_EXE", saved[0])  # noqa: B010
            owl_reasoning.JAVA_MEMORY = saved[1]


def reason(
    path: Path | str, *, java: str | None = None, memory_mb: int | None = None
) -> ReasonerReport:
    """Run HermiT on the ontology in ``path`` and report consistency and unsatisfiable classes.

    The file's logical axioms and labels are loaded into a world of its own (see
    :func:`load_world`; other annotations are left out, which makes HermiT about a quarter
    faster on the corpus) and HermiT runs on it through ``owlready2.sync_reasoner``.
    ``java`` is the Java executable (default: see :func:`find_java`); ``memory_mb`` the Java heap
    (owlready2's default is 2000 MB). Raises :class:`JavaNotFoundError` before reading the file
    when Java is missing, :class:`OntologyReadError` for a file that is not RDF, and
    :class:`ReasonerError` when HermiT fails.
    """
    owl = require_owlready2()
    executable = find_java(java)
    path = Path(path)
    world, _onto = load_world(path, annotations=False)
    try:
        classes = sum(1 for _ in world.classes())
        started = time.perf_counter()
        consistent = True
        try:
            with _owlready_java(executable, memory_mb):
                owl.sync_reasoner(world, infer_property_values=False, debug=0)
        except owl.OwlReadyInconsistentOntologyError:
            consistent = False
        except owl.OwlReadyJavaError as exc:
            detail = str(exc).strip().splitlines()
            raise ReasonerError(
                f"{path}: HermiT failed: {detail[-1] if detail else 'no message'}"
            ) from None
        except OSError as exc:
            raise ReasonerError(f"{path}: cannot run {executable}: {exc.strerror}") from None
        seconds = time.perf_counter() - started
        unsatisfiable = []
        if consistent:
            for cls in world.inconsistent_classes():
                if cls.iri.startswith(_OWL_NS):  # owl:Nothing itself
                    continue
                labels = list(cls.label)
                unsatisfiable.append((cls.iri, str(labels[0]) if labels else None))
        return ReasonerReport(
            path=path,
            consistent=consistent,
            unsatisfiable=tuple(sorted(unsatisfiable)),
            classes=classes,
            seconds=seconds,
        )
    finally:
        world.close()
