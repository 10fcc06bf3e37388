"""OWL and SKOS terminologies, read through a profile: RadLex OWL, and any other (GAMUTS...).

A :class:`Profile` (TOML) says which properties are labels, synonyms, definitions, parents,
obsolescence markers and replacements, and how an IRI gives a code. RadLex's profile ships in
``ontologies/profiles/radlex.toml``. The file is parsed by Oxigraph as a stream (RDF/XML,
Turtle or N-Triples): one class's triples are gathered while they come (RDF/XML and Turtle
writers put them together, restrictions nested inside), written out, and forgotten; only the
is-a edges are kept (as codes) to find the classes under an obsolete root at the end.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pyoxigraph as ox

from ontomap.errors import ReleaseReadError
from ontomap.graph import known_prefixes
from ontomap.ntriples import iri
from ontomap.releases.common import (
    ACTIVE,
    PREF_NAME,
    SYNONYM_NAME,
    TERMS,
    Lines,
    Release,
    text,
)
from ontomap.resources import ontologies_dir
from ontomap.terminology import default_registry
from ontomap.vocab import OWL_NS, RDF

__all__ = ["OwlRelease", "Profile", "radlex_profile"]

#: Profile ``format`` values and file extensions → Oxigraph's parser.
FORMATS = {
    "rdf-xml": ox.RdfFormat.RDF_XML,
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
}
_EXTENSIONS = {
    ".owl": "rdf-xml",
    ".rdf": "rdf-xml",
    ".xml": "rdf-xml",
    ".ttl": "turtle",
    ".nt": "ntriples",
}
_PROPERTY_KEYS = (
    "label",
    "synonym",
    "definition",
    "parent",
    "obsolete",
    "obsolete_name",
    "replaced_by",
)
_TRUE = {"true", "1"}
_RESTRICTION = OWL_NS + "Restriction"
_ON_PROPERTY = OWL_NS + "onProperty"
_SOME_VALUES = OWL_NS + "someValuesFrom"
#: Triples read to find the version before giving up (the ontology header comes first).
_HEADER_TRIPLES = 20_000


@dataclass(frozen=True)
class Profile:
    """How to read one OWL/SKOS terminology (see ``ontologies/profiles/radlex.toml``)."""

    system: str
    namespaces: tuple[str, ...]
    path: Path | None = None
    format: str | None = None
    code_pattern: str | None = None
    concept_types: frozenset[str] = frozenset()
    language: str = "en"
    version_property: frozenset[str] = frozenset()
    version: str | None = None
    obsolete_root: str | None = None
    restrictions: bool = False
    properties: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> Profile:
        """A profile from its TOML file; raises :class:`ReleaseReadError` on a bad one."""
        path = Path(path)
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            reason = f"cannot read the profile: {exc.strerror or exc}"
            raise ReleaseReadError(path, reason) from None
        except tomllib.TOMLDecodeError as exc:
            raise ReleaseReadError(path, f"not a TOML profile: {exc}") from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict[str, object], path: Path | None = None) -> Profile:
        where = path or Path("<profile>")
        prefixes = dict(known_prefixes(None))
        extra = data.get("prefixes", {})
        if not isinstance(extra, dict):
            raise ReleaseReadError(where, "[prefixes] must be a table of prefix = IRI")
        prefixes.update({str(k): str(v) for k, v in extra.items()})

        def expand(value: object, key: str) -> frozenset[str]:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ReleaseReadError(where, f"{key} must be an IRI or a list of IRIs")
            out = set()
            for item in values:
                prefix, _, local = item.partition(":")
                if prefix in prefixes and not local.startswith("//"):
                    out.add(prefixes[prefix] + local)
                elif ":" in item:
                    out.add(item)
                else:
                    raise ReleaseReadError(where, f"{key}: {item!r} is neither an IRI nor a CURIE")
            return frozenset(out)

        system = data.get("system")
        if not isinstance(system, str):
            raise ReleaseReadError(where, 'the profile names no system (system = "GAMUTS")')
        namespaces = data.get("namespaces")
        if isinstance(namespaces, str):
            namespaces = [namespaces]
        if not isinstance(namespaces, list) or not namespaces:
            raise ReleaseReadError(where, "namespaces must list the IRI namespaces of the codes")
        fmt = data.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise ReleaseReadError(where, f"format must be one of {', '.join(FORMATS)}")
        table = data.get("properties", {})
        if not isinstance(table, dict):
            raise ReleaseReadError(where, "[properties] must be a table")
        unknown = sorted(set(table) - set(_PROPERTY_KEYS))
        if unknown:
            raise ReleaseReadError(
                where,
                f"unknown properties {', '.join(unknown)}; known: {', '.join(_PROPERTY_KEYS)}",
            )
        properties = {key: expand(table.get(key, []), key) for key in _PROPERTY_KEYS}
        types = data.get("concept_types", ["owl:Class", "skos:Concept"])
        version = data.get("version")
        return cls(
            system=system,
            namespaces=tuple(str(n) for n in namespaces),
            path=path,
            format=fmt if isinstance(fmt, str) else None,
            code_pattern=str(data["code_pattern"]) if "code_pattern" in data else None,
            concept_types=expand(types, "concept_types"),
            language=str(data.get("language", "en")),
            version_property=expand(data.get("version_property", ["owl:versionInfo"]), "version"),
            version=str(version) if version is not None else None,
            obsolete_root=str(data["obsolete_root"]) if "obsolete_root" in data else None,
            restrictions=bool(data.get("restrictions", False)),
            properties=properties,
        )


def radlex_profile() -> Profile:
    """The profile of RadLex OWL as RSNA publishes it."""
    return Profile.load(ontologies_dir() / "profiles" / "radlex.toml")


@dataclass(slots=True)
class _Class:
    """The triples of one subject, gathered while they come."""

    iri: str
    code: str | None
    is_class: bool = False
    labels: list[ox.Literal] = field(default_factory=list)
    synonyms: list[ox.Literal] = field(default_factory=list)
    definitions: list[ox.Literal] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    replaced_by: list[str] = field(default_factory=list)
    obsolete_names: list[ox.Literal] = field(default_factory=list)
    obsolete: bool = False


@dataclass
class OwlRelease(Release):
    """An OWL or SKOS file read through a :class:`Profile`."""

    format: ClassVar[str] = "owl-profile"

    profile: Profile = field(default_factory=lambda: radlex_profile())
    rdf_format: ox.RdfFormat = ox.RdfFormat.RDF_XML
    release_format: str = "owl-profile"
    skipped: int = 0

    @property
    def kind(self) -> str:
        return self.release_format

    @classmethod
    def open(
        cls,
        path: Path,
        profile: Profile,
        *,
        system: str | None = None,
        version: str | None = None,
        release_format: str = "owl-profile",
    ) -> OwlRelease:
        registry = default_registry()
        code_system = registry.get(system or profile.system)
        name = profile.format or _EXTENSIONS.get(path.suffix.lower())
        if name is None:
            raise ReleaseReadError(
                path,
                "cannot tell the RDF syntax from the file name; give the profile a format "
                f"({', '.join(FORMATS)})",
            )
        rdf_format = FORMATS[name]
        if rdf_format == ox.RdfFormat.RDF_XML:
            _check_complete(path)
        found = version or profile.version or _version_of(path, rdf_format, profile)
        if not found:
            raise ReleaseReadError(
                path,
                "cannot tell the release's version (no owl:versionInfo in the ontology header, "
                "none in the file name); give --version",
            )
        return cls(
            system=code_system,
            version=found,
            files=(path,),
            profile=profile,
            rdf_format=rdf_format,
            release_format=release_format,
        )

    # -------------------------------------------------------------- codes

    def _coder(self) -> tuple[re.Pattern[str], tuple[str, ...]]:
        pattern = self.profile.code_pattern or self.system.pattern or r".+"
        return re.compile(pattern), self.profile.namespaces

    def chunks(self, graph: str) -> Iterator[list[str]]:
        t = TERMS
        profile = self.profile
        props = profile.properties
        label_p, synonym_p = props["label"], props["synonym"]
        definition_p, parent_p = props["definition"], props["parent"]
        obsolete_p, obsolete_name_p = props["obsolete"], props["obsolete_name"]
        replaced_p = props["replaced_by"]
        types = profile.concept_types
        rdf_type = RDF.type.value
        pattern, namespaces = self._coder()
        system = self.system
        language = profile.language.lower()
        counts = self.counts
        lines = Lines(counts)
        add = lines.out.append
        codes: dict[str, str | None] = {}
        classes: set[str] = set()
        obsolete: set[str] = set()
        children: dict[str, list[str]] = defaultdict(list)
        restrictions: dict[str, dict[str, str]] = {}
        own = system.own_namespace
        hierarchy, names = self.hierarchy, self.names

        def code_of(value: str) -> str | None:
            found = codes.get(value, "")
            if found != "":
                return found
            found = None
            for namespace in namespaces:
                if value.startswith(namespace):
                    local = value[len(namespace) :]
                    if pattern.fullmatch(local):
                        found = local
                    break
            if len(codes) < 1_000_000:
                codes[value] = found
            return found

        def node(code: str) -> str:
            return iri(system.code_iri(code))

        def relation(prop: str) -> str:
            if own:
                for namespace in namespaces:
                    if prop.startswith(namespace):
                        return iri(system.namespace + prop[len(namespace) :])
            return iri(prop)

        def restriction(blank: str, key: str, value: str) -> None:
            parts = restrictions.setdefault(blank, {})
            parts[key] = value
            if len(parts) == 3:
                del restrictions[blank]
                filler = code_of(parts["filler"])
                if filler is not None:
                    owner = parts["owner"]
                    add(f"{node(owner)} {relation(parts['property'])} {node(filler)} .\n")

        def flush(record: _Class) -> None:
            restrictions.clear()  # nested in the class just read: complete or not ours
            code = record.code
            if code is None or not record.is_class:
                return
            classes.add(code)
            subject = node(code)
            add(f"{subject} {t.type} {t.concept} .\n")
            if record.iri != system.code_iri(code):
                add(f"{subject} {t.same_as} {iri(record.iri)} .\n")
            preferred = _preferred(record.labels, language)
            if preferred is None and record.obsolete_names:
                preferred = record.obsolete_names[0]
            languages: set[str | None] = set()
            if preferred is not None:
                languages.add(preferred.language)
                add(f"{subject} {t.pref_label} {text(preferred.value, preferred.language)} .\n")
                names.add(code, PREF_NAME, preferred.value)
            for label in record.labels:  # one preferred label per language, as SKOS has it
                if label is preferred:
                    continue
                other = label.language in languages
                languages.add(label.language)
                kind = t.alt_label if other else t.pref_label
                add(f"{subject} {kind} {text(label.value, label.language)} .\n")
                names.add(code, SYNONYM_NAME if other else PREF_NAME, label.value)
            for name in record.obsolete_names:
                if name is not preferred and (preferred is None or name.value != preferred.value):
                    add(f"{subject} {t.alt_label} {text(name.value, name.language)} .\n")
                    names.add(code, SYNONYM_NAME, name.value)
            for synonym in record.synonyms:
                add(f"{subject} {t.alt_label} {text(synonym.value, synonym.language)} .\n")
                names.add(code, SYNONYM_NAME, synonym.value)
            counts.synonyms += len(record.synonyms)
            for definition in record.definitions:
                add(f"{subject} {t.definition} {text(definition.value, definition.language)} .\n")
            for parent in dict.fromkeys(record.parents):
                add(f"{subject} {t.broader} {node(parent)} .\n")
                hierarchy.add(code, parent)
                counts.parents += 1
                if profile.obsolete_root is not None:
                    children[parent].append(code)
            for target in dict.fromkeys(record.replaced_by):
                add(f"{subject} {t.replaced_by} {node(target)} .\n")
                counts.replacements += 1
            if record.obsolete or record.obsolete_names or record.replaced_by:
                obsolete.add(code)

        current = _Class("", None)
        try:
            triples = ox.parse(path=str(self.files[0]), format=self.rdf_format)
            for triple in triples:
                subject = triple.subject
                predicate = triple.predicate.value
                obj = triple.object
                if isinstance(subject, ox.BlankNode):
                    if profile.restrictions:
                        if predicate == _ON_PROPERTY and isinstance(obj, ox.NamedNode):
                            restriction(subject.value, "property", obj.value)
                        elif predicate == _SOME_VALUES and isinstance(obj, ox.NamedNode):
                            restriction(subject.value, "filler", obj.value)
                    continue
                if subject.value != current.iri:  # type: ignore[union-attr]
                    flush(current)
                    if lines.full:
                        yield lines.take()
                    value = subject.value  # type: ignore[union-attr]
                    current = _Class(value, code_of(value))
                if current.code is None:
                    continue
                if predicate == rdf_type:
                    if obj.value in types:  # type: ignore[union-attr]
                        current.is_class = True
                elif predicate in label_p:
                    if isinstance(obj, ox.Literal):
                        current.labels.append(obj)
                elif predicate in synonym_p:
                    if isinstance(obj, ox.Literal):
                        current.synonyms.append(obj)
                elif predicate in definition_p:
                    if isinstance(obj, ox.Literal):
                        current.definitions.append(obj)
                elif predicate in parent_p:
                    if isinstance(obj, ox.NamedNode):
                        parent = code_of(obj.value)
                        if parent is not None and parent != current.code:
                            current.parents.append(parent)
                    elif isinstance(obj, ox.BlankNode) and profile.restrictions:
                        restriction(obj.value, "owner", current.code)
                elif predicate in obsolete_p:
                    if obj.value.strip().lower() in _TRUE:  # type: ignore[union-attr]
                        current.obsolete = True
                elif predicate in obsolete_name_p:
                    if isinstance(obj, ox.Literal):
                        current.obsolete_names.append(obj)
                elif predicate in replaced_p:
                    target = (
                        code_of(obj.value) if isinstance(obj, ox.NamedNode) else obj.value.strip()  # type: ignore[union-attr]
                    )
                    if target is not None and pattern.fullmatch(target):
                        current.replaced_by.append(target)
            flush(current)
        except SyntaxError as exc:
            raise ReleaseReadError(self.files[0], _syntax_reason(exc), _syntax_line(exc)) from None
        except OSError as exc:
            raise ReleaseReadError(self.files[0], f"cannot read: {exc.strerror or exc}") from None
        root = profile.obsolete_root
        if root is not None:  # everything filed under the obsolete root, at any depth
            under: set[str] = set()
            stack = list(children.get(root, ()))
            while stack:
                code = stack.pop()
                if code not in under:
                    under.add(code)
                    stack.extend(children.get(code, ()))
            obsolete |= under
        children.clear()
        deprecated = t.true
        for code in sorted(classes):
            subject = node(code)
            if code in obsolete:
                add(f"{subject} {t.status} {t.status_of('obsolete')} .\n")
                add(f"{subject} {t.deprecated} {deprecated} .\n")
                names.deprecate(code)
            else:
                add(f"{subject} {t.status} {t.status_of(ACTIVE)} .\n")
            if lines.full:
                yield lines.take()
        counts.concepts = len(classes)
        counts.inactive = len(obsolete & classes)
        yield lines.take()


def _preferred(labels: list[ox.Literal], language: str) -> ox.Literal | None:
    """The label in ``language`` (or a sub-tag of it), else an untagged one, else none."""
    untagged = None
    for label in labels:
        tag = (label.language or "").lower()
        if tag == language or tag.startswith(language + "-"):
            return label
        if not tag and untagged is None:
            untagged = label
    return untagged


def _syntax_line(exc: SyntaxError) -> int | None:
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else getattr(exc, "lineno", None)


def _syntax_reason(exc: SyntaxError) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
    return f"not well-formed RDF: {message}"


def _version_of(path: Path, rdf_format: ox.RdfFormat, profile: Profile) -> str | None:
    """The version the ontology header states (``owl:versionInfo``...), else one in the file
    name (``RadLex4.3.owl`` → ``4.3``)."""
    try:
        for number, triple in enumerate(ox.parse(path=str(path), format=rdf_format)):
            if triple.predicate.value in profile.version_property and isinstance(
                triple.object, ox.Literal
            ):
                return triple.object.value.strip() or None
            if number > _HEADER_TRIPLES:
                break
    except SyntaxError as exc:
        raise ReleaseReadError(path, _syntax_reason(exc), _syntax_line(exc)) from None
    except OSError as exc:
        raise ReleaseReadError(path, f"cannot read: {exc.strerror or exc}") from None
    match = re.search(r"[0-9]+(?:\.[0-9]+)+", path.stem)
    return match.group(0) if match else None


def _check_complete(path: Path) -> None:
    """Oxigraph's RDF/XML parser takes a file cut short (a download broken off) as complete:
    check that it ends with the root element's end tag."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 4096))
            tail = handle.read()
    except OSError as exc:
        raise ReleaseReadError(path, f"cannot read: {exc.strerror or exc}") from None
    if not re.search(rb"</[A-Za-z_][\w.-]*:RDF\s*>\s*$", tail):
        raise ReleaseReadError(
            path, "the file ends before the closing </rdf:RDF>: is it complete (a cut download)?"
        )


def looks_like_radlex(path: Path) -> bool:
    """An RDF/XML file whose beginning names RadLex's namespace."""
    if not path.is_file() or path.suffix.lower() not in (".owl", ".rdf", ".xml"):
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False
    return b"radlex.org/RID" in head
