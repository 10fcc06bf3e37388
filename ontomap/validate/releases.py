"""Index codes against the terminology releases loaded in a store (``release/…``).

Every index code of a known system whose syntax is right (a code with a ``code/syntax``,
``code/check-digit`` or ``code/snomed-partition`` error is not looked up: it is wrong already)
is checked against the latest release of its system loaded in the store
(:class:`~ontomap.releases.Releases`); a system with no release loaded is not checked, and the
report says so. The concepts are read in bulk, one :meth:`~ontomap.releases.Releases.concepts`
call per system (two SPARQL queries), then the replacements of the inactive ones, however many
times the corpus uses each code:

- ``release/code-absent`` (error): the release has no concept of that code;
- ``release/code-inactive`` (warning): the code is inactive (SNOMED CT), obsolete (RadLex, OWL)
  or deprecated (LOINC); the hint names the replacement the release gives
  (``dcterms:isReplacedBy``: RadLex ``Replaced_by``, SNOMED CT REPLACED BY and SAME AS, LOINC
  ``MapTo.csv``) with its preferred term, following a replacement that is itself inactive;
- ``release/display-mismatch`` (warning): the display is none of the code's names (preferred
  terms, synonyms, the SNOMED CT fully specified name with or without its semantic tag),
  compared by :func:`normal_name` (case, white space and punctuation ignored);
- ``release/semantic-tag`` (warning, on request): a SNOMED CT code whose semantic tag does not
  fit its place (:data:`SEMANTIC_TAGS`).

Certain fixes go into a fix list (:class:`~ontomap.validate.report.Fix`): an inactive code with
exactly one active replacement (reached through single replacements) is replaced, with its
display; a display that matches none of the names becomes the preferred term.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ontomap.readers.common import shown
from ontomap.validate.codes import CodeUse, check_syntax, code_uses
from ontomap.validate.locate import MarkdownLocator
from ontomap.validate.records import Record
from ontomap.validate.report import Finding, Fix, ReleaseCheck
from ontomap.validate.rules import RELEASE_RULES

if TYPE_CHECKING:
    from ontomap.releases import Concept, ReleaseInfo, Releases

__all__ = [
    "SEMANTIC_TAGS",
    "ReleaseResult",
    "check_releases",
    "json_pointer",
    "normal_name",
    "semantic_tag",
]

#: How many replacements are followed from an inactive code to an active one.
MAX_REPLACEMENT_STEPS = 5

#: The SNOMED CT semantic tags expected in each place that ``release/semantic-tag`` checks:
#: a finding's own index codes, its anatomic locations, and the values of an attribute whose
#: name says "presence". Other places (other attributes and their values: a location
#: attribute's values are body structures, a size attribute an observable entity) are not
#: checked.
SEMANTIC_TAGS: dict[str, frozenset[str]] = {
    "finding": frozenset(
        {"finding", "disorder", "morphologic abnormality", "observable entity", "situation"}
    ),
    "anatomic location": frozenset({"body structure"}),
    "presence value": frozenset({"qualifier value", "finding"}),
}

_PUNCTUATION = re.compile(r"[\W_]+")
_TAG = re.compile(r"\s*\(([^()]+)\)\s*$")


@lru_cache(maxsize=1 << 16)
def normal_name(name: str) -> str:
    """A name as displays are compared with it: case folded, every run of punctuation and
    white space one space (``Test "coin" lesion of lung`` = ``test coin lesion of lung``)."""
    return _PUNCTUATION.sub(" ", name.casefold()).strip()


def semantic_tag(fsn: str | None) -> str | None:
    """The semantic tag of a SNOMED CT fully specified name (``finding`` in ``Lung nodule
    (finding)``), or ``None``."""
    if not fsn:
        return None
    match = _TAG.search(fsn)
    return match.group(1).strip() if match else None


def names_of(concept: Concept) -> set[str]:
    """Every name of a concept, normalised: labels, synonyms, and the fully specified name
    without its semantic tag."""
    names = {normal_name(n) for n in (*concept.labels, *concept.synonyms)}
    if concept.fully_specified_name and semantic_tag(concept.fully_specified_name):
        names.add(normal_name(_TAG.sub("", concept.fully_specified_name)))
    names.discard("")
    return names


def json_pointer(path: Sequence[str | int]) -> str:
    """The JSON pointer (RFC 6901) of an item path: ``("attributes", 0, "name")`` →
    ``/attributes/0/name``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """What :func:`check_releases` found: findings, certain fixes, the releases used and the
    codes of systems without a release (system → number of distinct codes)."""

    findings: tuple[Finding, ...]
    fixes: tuple[Fix, ...]
    used: tuple[ReleaseCheck, ...]
    unchecked: dict[str, int]


@dataclass(slots=True)
class _Target:
    """Where an inactive code leads: the single active replacement, or why there is none."""

    concept: Concept | None
    chain: tuple[str, ...]
    reason: str | None


def check_releases(
    records: Sequence[Record], releases: Releases, *, semantic_tags: bool = False
) -> ReleaseResult:
    """The ``release/…`` findings and fixes of ``records`` against the releases of a store."""
    loaded: dict[str, ReleaseInfo] = {}
    for info in releases.list():
        loaded.setdefault(info.system, releases.get(info.system))
    uses: list[CodeUse] = []
    unchecked: dict[str, set[str]] = defaultdict(set)
    syntax_ok: dict[tuple[str, str], bool] = {}  # syntax depends on the system and code only
    for record in records:
        for use in code_uses(record):
            key = use.system.key if use.system.known else use.spelling
            if not (use.system.known and use.system.key in loaded):
                unchecked[key].add(use.code)
                continue
            ok = syntax_ok.get(use.key)
            if ok is None:
                ok = syntax_ok[use.key] = check_syntax(use) is None
            if ok:
                uses.append(use)
    by_system: dict[str, set[str]] = defaultdict(set)
    for use in uses:
        by_system[use.system.key].add(use.code)
    concepts: dict[str, dict[str, Concept]] = {}
    for system, codes in sorted(by_system.items()):
        info = loaded[system]
        found = releases.concepts(codes, system, info.version)
        _add_replacements(releases, info, found)
        concepts[system] = found
    checker = _Checker(concepts, loaded, semantic_tags)
    for use in uses:
        checker.check(use)
    used = tuple(
        ReleaseCheck(
            system=info.system,
            version=info.version,
            graph=info.graph,
            codes=len(by_system.get(system, ())),
            uses=sum(1 for u in uses if u.system.key == system),
        )
        for system, info in sorted(loaded.items())
    )
    return ReleaseResult(
        findings=tuple(checker.findings),
        fixes=tuple(checker.fixes.values()),
        used=used,
        unchecked={k: len(v) for k, v in sorted(unchecked.items())},
    )


def _add_replacements(releases: Releases, info: ReleaseInfo, found: dict[str, Concept]) -> None:
    """Read the replacements of the inactive concepts in ``found`` (and theirs, a few steps)
    into ``found``, in bulk."""
    for _ in range(MAX_REPLACEMENT_STEPS):
        wanted = {
            target.code
            for concept in found.values()
            if not concept.active
            for target in concept.replaced_by
            if target.code not in found
        }
        if not wanted:
            return
        more = releases.concepts(wanted, info.system, info.version)
        found.update(more)
        if not more:
            return


class _Checker:
    def __init__(
        self,
        concepts: dict[str, dict[str, Concept]],
        loaded: dict[str, ReleaseInfo],
        semantic_tags: bool,
    ) -> None:
        self.concepts = concepts
        self.loaded = loaded
        self.semantic_tags = semantic_tags
        self.findings: list[Finding] = []
        #: One fix per place (file and pointer or line): a replacement wins over a display.
        self.fixes: dict[tuple[str, str], Fix] = {}
        self._names: dict[tuple[str, str], set[str]] = {}
        self._targets: dict[tuple[str, str], _Target] = {}
        self._files: dict[int, str] = {}

    def _file(self, record: Record) -> str:
        """``record.file``, computed once per record."""
        name = self._files.get(id(record))
        if name is None:
            name = self._files[id(record)] = record.file
        return name

    def _finding(self, rule: str, use: CodeUse, message: str, hint: str, member: str) -> None:
        finding = RELEASE_RULES[rule].finding(
            message,
            file=self._file(use.record),
            line=use.line_of(member),
            entity=use.label,
            hint=hint,
        )
        self.findings.append(finding)

    def check(self, use: CodeUse) -> None:
        system = use.system.key
        info = self.loaded[system]
        release = f"{system} {info.version}"
        concept = self.concepts[system].get(use.code)
        if concept is None:
            self._finding(
                "release/code-absent",
                use,
                f"{use.label} of {use.entity} is not in the release {release} "
                f"({info.concepts:,} concepts)",
                "check the code for a typo and that its system is the right one; a code newer "
                "than the release needs a newer release loaded",
                "code",
            )
            return
        replacement = None
        if not concept.active:
            replacement = self._inactive(use, concept, release)
        if use.display is not None:
            self._display(use, concept, release, replacement)
        if self.semantic_tags and system == "SNOMED":
            self._semantic_tag(use, concept, release)

    # -- inactive codes

    def _target(self, system: str, concept: Concept) -> _Target:
        key = (system, concept.code.code)
        if key not in self._targets:
            self._targets[key] = self._follow(system, concept)
        return self._targets[key]

    def _follow(self, system: str, concept: Concept) -> _Target:
        chain: list[str] = []
        current = concept
        for _ in range(MAX_REPLACEMENT_STEPS):
            if len(current.replaced_by) != 1:
                many = len(current.replaced_by) > 1
                reason = (
                    f"{len(current.replaced_by)} replacements" if many else "no replacement"
                ) + (f" for {system} {current.code.code}" if chain else "")
                return _Target(None, tuple(chain), reason)
            code = current.replaced_by[0].code
            if code in chain or code == concept.code.code:
                return _Target(None, tuple(chain), "a replacement cycle")
            chain.append(code)
            found = self.concepts[system].get(code)
            if found is None:
                return _Target(None, tuple(chain), f"{system} {code} is not in the release")
            if found.active:
                return _Target(found, tuple(chain), None)
            current = found
        return _Target(None, tuple(chain), f"more than {MAX_REPLACEMENT_STEPS} replacements")

    def _inactive(self, use: CodeUse, concept: Concept, release: str) -> Concept | None:
        system = use.system.key
        term = f" ({shown(concept.preferred_term, 200)})" if concept.preferred_term else ""
        message = f"{use.label}{term} of {use.entity} is {concept.status} in {release}"
        target = self._target(system, concept)
        if concept.replaced_by:
            named = "; ".join(_coded(c) for c in concept.replaced_by)
            message += f"; replaced by {named}"
        if target.concept is not None:
            via = target.chain[:-1]
            step = f" (through {', '.join(via)}, inactive too)" if via else ""
            hint = f"replace it with {_coded(target.concept.code)}{step}"
            self._fix_replacement(use, target.concept)
        elif len(concept.replaced_by) > 1:
            hint = "the release names several replacements: choose one of them"
        else:
            why = f" ({target.reason})" if target.chain else ""
            hint = f"choose an active code: the release names no usable replacement{why}"
            if concept.relations:
                links = "; ".join(f"{name} {_coded(c)}" for name, c in concept.relations)
                hint += f"; it links the code: {links}"
        self._finding("release/code-inactive", use, message, hint, "code")
        return target.concept

    # -- displays

    def _display(
        self, use: CodeUse, concept: Concept, release: str, replacement: Concept | None
    ) -> None:
        assert use.display is not None
        names = self._names_of(use.system.key, concept)
        if (
            replacement is not None
            and replacement.preferred_term
            and normal_name(use.display) not in self._names_of(use.system.key, replacement)
        ):
            self._fix_display(use, replacement.preferred_term, "release/code-inactive")
        if not names or normal_name(use.display) in names:
            return
        preferred = concept.preferred_term
        where = f"its preferred term in {release} is {shown(preferred, 200)}"
        message = (
            f"{use.label} of {use.entity} is displayed {shown(use.display, 200)}, none of the "
            f"code's names; {where}"
        )
        hint = f"use the preferred term {shown(preferred, 200)}, or check that the code is right"
        self._finding("release/display-mismatch", use, message, hint, "display")
        if preferred:
            self._fix_display(use, preferred, "release/display-mismatch")

    def _names_of(self, system: str, concept: Concept) -> set[str]:
        key = (system, concept.code.code)
        names = self._names.get(key)
        if names is None:
            names = self._names[key] = names_of(concept)
        return names

    # -- semantic tags

    def _semantic_tag(self, use: CodeUse, concept: Concept, release: str) -> None:
        place = _place(use)
        tag = semantic_tag(concept.fully_specified_name)
        if place is None or tag is None:
            return
        expected = SEMANTIC_TAGS[place]
        if tag in expected:
            return
        fsn = shown(concept.fully_specified_name, 200)
        self._finding(
            "release/semantic-tag",
            use,
            f"{use.label} {fsn} on {use.entity} is a ({tag}) code, where a {place} takes "
            f"{' or '.join(f'({t})' for t in sorted(expected))} ({release})",
            f"check the code: a {place} is coded with a {' or '.join(sorted(expected))} concept",
            "code",
        )

    # -- fixes

    def _fix_replacement(self, use: CodeUse, target: Concept) -> None:
        record = use.record
        if record.format == "markdown":
            display = target.preferred_term if use.display is not None else None
            self._markdown_fix(use, target.code.code, display, "release/code-inactive")
            return
        path = (*use.path, "code")
        self._json_fix(use, path, target.code.code, "release/code-inactive")

    def _fix_display(self, use: CodeUse, term: str, rule: str) -> None:
        if use.record.format == "markdown":
            if rule == "release/code-inactive":
                return  # written with the code, in the same fix
            self._markdown_fix(use, use.code, term, rule)
            return
        self._json_fix(use, (*use.path, "display"), term, rule)

    def _json_fix(self, use: CodeUse, path: tuple[str | int, ...], new: str, rule: str) -> None:
        record = use.record
        old = _at(record.data, path)
        if not isinstance(old, str | int) or isinstance(old, bool) or old == new:
            return
        pointer = json_pointer(path)
        place = (self._file(record), pointer)
        if place in self.fixes and self.fixes[place].rule == "release/code-inactive":
            return
        line = record.line(path)
        self.fixes[place] = Fix(place[0], rule, old, new, pointer=pointer, line=line)

    def _markdown_fix(self, use: CodeUse, code: str, display: str | None, rule: str) -> None:
        """One fix of the ``SYSTEM code display`` text on the code's line, where that text
        is found exactly once on the line (else the fix is not certain, and left out)."""
        record = use.record
        locator = record.locator
        line = use.line
        if not isinstance(locator, MarkdownLocator) or line is None:
            return
        text = locator.lines[line - 1]
        written = f"{use.spelling} {use.code}" + (f" {use.display}" if use.display else "")
        if text.count(written) != 1:
            return
        new = f"{use.spelling} {code}" + (f" {display}" if display else "")
        if display is None and use.display:
            new = f"{use.spelling} {code} {use.display}"
        place = (self._file(record), f"{line}:{text.index(written)}")
        if new == written or (
            place in self.fixes and self.fixes[place].rule == "release/code-inactive"
        ):
            return
        self.fixes[place] = Fix(place[0], rule, written, new, line=line)


def _coded(code: Any) -> str:
    """``SNOMED 1004008 'Test lung nodule'``."""
    term = f" {shown(code.display, 200)}" if code.display else ""
    return f"{code.system} {code.code}{term}"


def _at(data: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        if isinstance(data, dict) and isinstance(step, str):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data


def _place(use: CodeUse) -> str | None:
    """The place ``release/semantic-tag`` checks that ``use`` is in, or ``None``."""
    path = use.path
    if len(path) == 2:
        return "finding" if path[0] == "index_codes" else "anatomic location"
    if len(path) == 6 and path[2] == "values":
        attribute = _at(use.record.data, path[:2])
        name = attribute.get("name") if isinstance(attribute, dict) else None
        if isinstance(name, str) and "presence" in name.casefold():
            return "presence value"
    return None
