"""What each tool of ``ontomap mcp`` answers, as plain JSON-ready dictionaries.

:class:`Tools` holds the knowledge graph the tools read (a store folder, read in its current
generation, or a SPARQL endpoint) and has one method per tool. Nothing here imports the MCP
SDK: :mod:`ontomap.mcp.server` only describes these methods to clients and turns
:class:`ToolInputError` and the other :class:`~ontomap.errors.OntomapError` exceptions into
tool errors, with the messages the command line prints.

Every tool is a view of an existing API: the lookup (:func:`ontomap.lookup.lookup`, for
``lookup_code``, ``where_used`` and ``translate``), the code checks of the registry and of
:mod:`ontomap.validate.codes` with the releases of :mod:`ontomap.releases`
(``validate_codes``), the models of the store (``search_findings``, ``get_finding``), the
query checks of ``ontomap serve`` (``sparql_select``, run in the server's worker processes
for a store) and the mapping sets of :mod:`ontomap.mappings` (``mapping_set``).

Every list is paged: ``limit`` (default :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`)
and ``offset`` (at most :data:`MAX_OFFSET`), and each answer says the ``total`` and whether
more follows (``has_more``, ``next_offset``).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ontomap.errors import OntomapError, StoreError
from ontomap.lookup import (
    DEFAULT_LIMIT,
    CodeLookupError,
    LookupResult,
    MalformedCodeError,
    crosswalk_reader,
    lookup,
    malformation,
    parse_code,
    release_reader,
)
from ontomap.model import OIFM_ID_PATTERN, ChoiceAttribute, FindingModel, IndexCode
from ontomap.terminology import default_registry

if TYPE_CHECKING:
    from ontomap.backends import SparqlBackend
    from ontomap.server import WorkerPool
    from ontomap.store import Store

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT",
    "MAX_CODES",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_QUERY_CHARS",
    "MAX_SEARCH_CHARS",
    "ToolInputError",
    "Tools",
    "model_json",
    "page",
    "search_words",
]

#: The most items one page may hold (every list tool's ``limit``).
MAX_LIMIT = 1000
#: The largest ``offset`` accepted.
MAX_OFFSET = 10**9
#: The most codes one ``validate_codes`` call checks.
MAX_CODES = 200
#: The longest search text accepted (characters).
MAX_SEARCH_CHARS = 500
#: The longest SPARQL query accepted (characters).
MAX_QUERY_CHARS = 100_000
#: Seconds a ``sparql_select`` query may run (its worker is killed after that).
DEFAULT_TIMEOUT = 10.0
#: The most solutions a ``sparql_select`` query computes (then pages of them are given).
DEFAULT_MAX_ROWS = 10_000
#: Mapping sets kept per generation (each is read from the crosswalk graph once).
_MAPPING_SETS_KEPT = 8


class ToolInputError(OntomapError):
    """An argument a tool cannot take (a limit out of range, an unknown format...)."""


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(name: str, value: object, default: int, largest: int) -> int:
    """``value`` as a whole number from 0 to ``largest``, else :class:`ToolInputError` with
    the message of ``ontomap serve``'s ``/lookup``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= largest:
        raise ToolInputError(
            f"bad {name} {_shown(value)}: give a whole number from 0 to {largest} "
            f"(default {default})"
        )
    return value


def page(total: int, offset: int, limit: int, returned: int) -> dict[str, Any]:
    """The paging block of an answer: where the page starts, how many it holds, the total,
    and the ``offset`` of the next page (``None`` at the end)."""
    end = offset + returned
    more = end < total
    return {
        "total": total,
        "offset": offset,
        "limit": limit,
        "returned": returned,
        "has_more": more,
        "next_offset": end if more else None,
    }


def _paged(offset: object, limit: object) -> tuple[int, int]:
    return (
        _count("offset", offset, 0, MAX_OFFSET),
        _count("limit", limit, DEFAULT_LIMIT, MAX_LIMIT),
    )


def _text(name: str, value: object, largest: int) -> str:
    if not isinstance(value, str):
        raise ToolInputError(f"bad {name} {_shown(value)}: give a text")
    if len(value) > largest:
        raise ToolInputError(
            f"the {name} is {len(value):,} characters long; at most {largest:,} are accepted"
        )
    return value


def _system_key(name: object, what: str = "system") -> str:
    if not isinstance(name, str):
        raise ToolInputError(f"bad {what} {_shown(name)}: give a code system name")
    return default_registry().get(name.strip()).key


# ------------------------------------------------------------------ models as JSON


def _codes_json(codes: Sequence[IndexCode]) -> list[dict[str, Any]]:
    out = []
    for code in codes:
        item: dict[str, Any] = {"system": code.system, "code": code.code}
        if code.display is not None:
            item["display"] = code.display
        out.append(item)
    return out


def model_json(model: FindingModel) -> dict[str, Any]:
    """``model`` in the OIFM JSON shape (``*.fm.json``) as the store's graph holds it:
    synonyms, tags and index codes sorted (the graph keeps them as sets), absent members left
    out."""
    out: dict[str, Any] = {"oifm_id": model.oifm_id, "name": model.name}
    if model.description is not None:
        out["description"] = model.description
    if model.synonyms:
        out["synonyms"] = list(model.synonyms)
    if model.tags:
        out["tags"] = list(model.tags)
    contributors = []
    for person in model.contributors:
        fields = ("name", "email", "github_username", "organization_code", "code", "url")
        contributors.append(
            {f: getattr(person, f) for f in fields if getattr(person, f, None) is not None}
        )
    if contributors:
        out["contributors"] = contributors
    attributes = []
    for attribute in model.attributes:
        item: dict[str, Any] = {"oifma_id": attribute.oifma_id, "name": attribute.name}
        if attribute.description is not None:
            item["description"] = attribute.description
        item["type"] = attribute.kind
        if isinstance(attribute, ChoiceAttribute):
            values = []
            for value in attribute.values:
                entry: dict[str, Any] = {"value_code": value.value_code, "name": value.name}
                if value.description is not None:
                    entry["description"] = value.description
                if value.index_codes:
                    entry["index_codes"] = _codes_json(value.index_codes)
                values.append(entry)
            item["values"] = values
            if attribute.max_selected is not None:
                item["max_selected"] = attribute.max_selected
        else:
            for name in ("minimum", "maximum", "unit"):
                if getattr(attribute, name) is not None:
                    item[name] = getattr(attribute, name)
        if attribute.required is not None:
            item["required"] = attribute.required
        if attribute.index_codes:
            item["index_codes"] = _codes_json(attribute.index_codes)
        attributes.append(item)
    out["attributes"] = attributes
    if model.index_codes:
        out["index_codes"] = _codes_json(model.index_codes)
    if model.anatomic_locations:
        out["anatomic_locations"] = _codes_json(model.anatomic_locations)
    return out


# ------------------------------------------------------------------ search

_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> tuple[str, ...]:
    """The words of ``text`` as the search compares them: runs of letters and digits, case
    folded."""
    return tuple(_WORD.findall(text.casefold()))


def _phrase(words: Sequence[str]) -> str:
    return " ".join(words)


class _Entry:
    """One finding model in the search index, with its texts as the search compares them."""

    __slots__ = (
        "name",
        "name_phrase",
        "name_words",
        "oifm_id",
        "synonym_phrases",
        "synonym_words",
        "synonyms",
        "tag_phrases",
        "tags",
        "words",
    )

    def __init__(
        self, oifm_id: str, name: str, synonyms: tuple[str, ...], tags: tuple[str, ...]
    ) -> None:
        self.oifm_id = oifm_id
        self.name = name
        self.synonyms = synonyms
        self.tags = tags
        self.name_phrase = _phrase(search_words(name))
        self.name_words = frozenset(self.name_phrase.split())
        self.synonym_phrases = tuple(_phrase(search_words(s)) for s in synonyms)
        self.synonym_words = self.name_words.union(*(s.split() for s in self.synonym_phrases))
        self.tag_phrases = frozenset(_phrase(search_words(t)) for t in tags)
        self.words = self.synonym_words.union(*(s.split() for s in self.tag_phrases))


#: Scores of the ways a finding can match the search text, best first.
SCORES = {
    "name": 1.0,
    "synonym": 0.95,
    "code": 0.9,
    "name-start": 0.85,
    "name-phrase": 0.8,
    "synonym-phrase": 0.75,
    "name-words": 0.7,
    "code-part": 0.65,
    "synonym-words": 0.6,
    "tag": 0.5,
    "words": 0.4,
}


def _score(entry: _Entry, words: tuple[str, ...]) -> tuple[float, str] | None:
    """How well ``entry`` matches the search words (``None``: not at all)."""
    wanted = set(words)
    if not words or not wanted <= entry.words:
        return None
    phrase = _phrase(words)
    name = entry.name_phrase
    padded = f" {phrase} "
    if name == phrase:
        return SCORES["name"], "name"
    if phrase in entry.synonym_phrases:
        return SCORES["synonym"], "synonym"
    if name.startswith(phrase + " "):
        return SCORES["name-start"], "name"
    if padded in f" {name} ":
        return SCORES["name-phrase"], "name"
    if any(padded in f" {s} " for s in entry.synonym_phrases):
        return SCORES["synonym-phrase"], "synonym"
    if wanted <= entry.name_words:
        return SCORES["name-words"], "name"
    if wanted <= entry.synonym_words:
        return SCORES["synonym-words"], "synonym"
    if phrase in entry.tag_phrases:
        return SCORES["tag"], "tag"
    return SCORES["words"], "words"


# ------------------------------------------------------------------ the tools


class Tools:
    """The tools of ``ontomap mcp`` over one knowledge graph: the store at ``store`` (always
    its current generation: a build while the server runs is seen by the next call), or the
    SPARQL endpoint ``endpoint`` (``timeout``: seconds per request).

    ``sparql_timeout``, ``max_rows`` and ``workers`` bound ``sparql_select`` as ``ontomap
    serve``'s ``--timeout``, ``--max-rows`` and ``--workers`` do (on a store the queries run in
    the same worker processes; they are started on the first query). Call :meth:`close` at
    the end.
    """

    def __init__(
        self,
        store: Path | str | None = None,
        endpoint: str | None = None,
        *,
        timeout: float | None = None,
        sparql_timeout: float = DEFAULT_TIMEOUT,
        max_rows: int = DEFAULT_MAX_ROWS,
        workers: int = 1,
    ) -> None:
        from ontomap.backends import DEFAULT_TIMEOUT as ENDPOINT_TIMEOUT
        from ontomap.backends import RemoteBackend
        from ontomap.store import Store, default_store_path

        if store is not None and endpoint is not None:
            raise ValueError("give a store or an endpoint, not both")
        if not sparql_timeout > 0:
            raise ValueError(f"the timeout must be a positive number, not {sparql_timeout}")
        if max_rows < 1 or workers < 1:
            raise ValueError("max_rows and workers must be at least 1")
        self.sparql_timeout = sparql_timeout
        self.max_rows = max_rows
        self.workers = workers
        self._lock = threading.RLock()
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self._store: Store | None = None
        self._remote: RemoteBackend | None = None
        self._cache: dict[str, Any] = {}
        self._mapping_sets: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._closed = False
        if endpoint is not None:
            self.store_path: Path | None = None
            self._remote = RemoteBackend(
                endpoint, timeout=ENDPOINT_TIMEOUT if timeout is None else timeout
            )
        else:
            self.store_path = Path(store) if store is not None else default_store_path()
            self._store = Store(self.store_path, read_only=True)

    # -------------------------------------------------------------- the graph read

    @property
    def location(self) -> str:
        """The store folder or endpoint URL, for messages."""
        if self._remote is not None:
            return self._remote.location
        return str(self.store_path)

    @contextmanager
    def _target(self) -> Iterator[Store | SparqlBackend]:
        """The store in its current generation (opened again after a build), or the
        endpoint; one call at a time."""
        from ontomap.generations import current_generation
        from ontomap.store import Store

        with self._lock:
            if self._closed:
                raise StoreError("the MCP server is shutting down")
            if self._remote is not None:
                yield self._remote
                return
            assert self._store is not None and self.store_path is not None
            current = current_generation(self.store_path)
            if current is not None and current != self._store.generation:
                fresh = Store(self.store_path, read_only=True)
                self._store.close()
                self._store = fresh
                self._cache.clear()
                self._mapping_sets.clear()
            yield self._store

    def close(self) -> None:
        """Release the store or endpoint and stop the query workers."""
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
            if self._remote is not None:
                self._remote.close()
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def __enter__(self) -> Tools:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _lookup(
        self, code: object, to: str | None = None, *, descendants: bool = False
    ) -> LookupResult:
        text = _text("code", code, 2000)
        with self._target() as target:
            return lookup(target, text, to=to, descendants=descendants)

    # -------------------------------------------------------------- lookup_code

    def lookup_code(
        self,
        code: str,
        to: str | None = None,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        descendants: bool = False,
    ) -> dict[str, Any]:
        """The lookup of ``code`` as ``ontomap lookup --format json`` prints it (JSON version
        2: the code, its matches with their evidence, the releases' word on it, one page of
        its uses), with the paging block of the uses."""
        offset, limit = _paged(offset, limit)
        system = _system_key(to, "to") if to is not None else None
        result = self._lookup(code, system, descendants=bool(descendants))
        out = result.to_json(offset, limit)
        out["page"] = page(len(result.used_by), offset, limit, len(out["used_by"]["items"]))
        return out

    # -------------------------------------------------------------- where_used

    def where_used(
        self, code: str, kind: str | None = None, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> dict[str, Any]:
        """The entities (findings, attributes, values, anatomic locations) that use ``code``,
        by finding, one page at a time; ``kind`` keeps one kind of use."""
        offset, limit = _paged(offset, limit)
        kinds = ("finding", "location", "attribute", "value")
        if kind is not None and kind not in kinds:
            raise ToolInputError(f"bad kind {_shown(kind)}: give one of {', '.join(kinds)}")
        result = self._lookup(code)
        uses: Sequence[Any] = result.used_by
        if kind is not None:
            uses = [u for u in uses if u.kind == kind]
        shown = uses[offset : offset + limit]
        return {
            "code": {
                "system": result.code.system,
                "code": result.code.code,
                "curie": result.code.curie,
                "labels": list(result.code.labels),
            },
            "uses": len(result.used_by),
            "findings": result.findings,
            "kinds": result.kinds,
            "kind": kind,
            "items": [
                {
                    "finding": u.finding,
                    "finding_label": u.finding_label,
                    "kind": u.kind,
                    "entity": u.entity,
                    "label": u.label,
                }
                for u in shown
            ],
            "page": page(len(uses), offset, limit, len(shown)),
        }

    # -------------------------------------------------------------- translate

    def translate(
        self,
        code: str,
        target_system: str,
        include_colisted: bool = False,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """The codes of ``target_system`` that the crosswalk links to ``code``, as FHIR's
        ``$translate`` answers: ``result`` true when there is at least one; each match with
        its FHIR R5 ``relationship`` and R4 ``equivalence`` (from the evidence's SKOS
        predicate), and its evidence. Co-listed codes are no mappings and are left out unless
        ``include_colisted``."""
        from ontomap.mappings.fhir import R4_EQUIVALENCE, R5_RELATIONSHIP

        offset, limit = _paged(offset, limit)
        target = _system_key(target_system, "target_system")
        result = self._lookup(code, target)
        if result.code.system == target:
            raise ToolInputError(
                f"{result.code.curie} is already a {target} code: give another target_system"
            )
        system = default_registry().get(target)
        matches = [m for m in result.matches if include_colisted or m.status == "paired"]
        shown = matches[offset : offset + limit]
        items = []
        for m in shown:
            item = m.to_json()
            predicate = m.predicate
            item["fhir_system"] = system.fhir_system
            item["relationship"] = R5_RELATIONSHIP.get(predicate) if predicate else None
            item["equivalence"] = R4_EQUIVALENCE.get(predicate) if predicate else None
            items.append(item)
        colisted = sum(1 for m in result.matches if m.status != "paired")
        paired = len(result.matches) - colisted
        if paired:
            codes = f"{paired} {target} code" + ("s" if paired > 1 else "")
            message = (
                f"{codes} linked to {result.code.curie} by co-indexing (evidence, not equivalence)"
            )
        else:
            message = f"no {target} code is paired with {result.code.curie} in the corpus"
            if colisted:
                message += f" ({colisted} only co-listed with it: no mapping)"
        return {
            "result": paired > 0,
            "message": message,
            "source": {
                "system": result.code.system,
                "code": result.code.code,
                "curie": result.code.curie,
                "labels": list(result.code.labels),
            },
            "target_system": target,
            "fhir_system": system.fhir_system,
            "paired": paired,
            "colisted": colisted,
            "matches": items,
            "page": page(len(matches), offset, limit, len(shown)),
        }

    # -------------------------------------------------------------- validate_codes

    def validate_codes(self, codes: list[str]) -> dict[str, Any]:
        """Each code checked: read (the accepted forms), its system's syntax and check
        digit, whether the corpus uses it, and what each loaded release says of it."""
        from ontomap.validate.codes import code_hint, snomed_partition_ok

        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ToolInputError("bad codes: give a list of codes as text")
        if not 1 <= len(codes) <= MAX_CODES:
            raise ToolInputError(
                f"give from 1 to {MAX_CODES} codes in one call, not {len(codes):,}"
            )
        out = []
        with self._target() as target:
            reader = crosswalk_reader(target)
            releases = release_reader(target)
            for text in codes:
                item: dict[str, Any] = {"input": text if len(text) <= 200 else text[:200] + "…"}
                try:
                    code = parse_code(_text("code", text, 2000))
                except CodeLookupError as exc:
                    item.update(valid=False, recognized=False, problems=[str(exc)])
                    out.append(item)
                    continue
                system = code.code_system
                problems = []
                reason = malformation(code)
                if reason is not None:
                    problems.append(str(MalformedCodeError(text, code, reason)))
                    hint = code_hint(system.key)
                    if hint:
                        problems.append(hint)
                elif system.key == "SNOMED" and not snomed_partition_ok(code.code):
                    problems.append(
                        f"SNOMED CT identifier {code.code} has partition {code.code[-3:-1]}: "
                        "not a concept ID (00 or 10)"
                    )
                entry = reader.code(code, None, uses=False)
                item.update(
                    recognized=True,
                    system=code.system,
                    code=code.code,
                    curie=code.curie,
                    iri=code.iri,
                    syntax_ok=not problems,
                    in_corpus={
                        "used": entry is not None,
                        "index_uses": entry.usage.uses if entry is not None else 0,
                        "labels": list(entry.usage.labels) if entry is not None else [],
                    },
                )
                statuses = releases.statuses(code) if releases is not None else ()
                item["releases"] = [s.to_json() for s in statuses]
                for status in statuses:
                    where = f"{status.system} {status.version}"
                    if not status.found:
                        problems.append(f"{code.curie} is not in {where}")
                    elif status.active is False:
                        replaced = ", ".join(c.curie for c in status.replaced_by)
                        problems.append(
                            f"{code.curie} is {status.status} in {where}"
                            + (f"; replaced by {replaced}" if replaced else "")
                        )
                if releases is None:
                    item["releases_note"] = "release statuses are read from a local store only"
                elif not statuses:
                    item["releases_note"] = f"no release of {code.system} is loaded"
                item["preferred_term"] = next(
                    (s.preferred_term for s in statuses if s.found and s.preferred_term), None
                )
                item["valid"] = not problems
                item["problems"] = problems
                out.append(item)
        return {"codes": out, "valid": sum(1 for i in out if i["valid"]), "checked": len(out)}

    # -------------------------------------------------------------- search_findings

    def _index(self, target: Store | SparqlBackend) -> list[_Entry]:
        index = self._cache.get("search")
        if index is None:
            import pyoxigraph as ox

            from ontomap.query import select

            rows: dict[str, tuple[str, list[str], list[str]]] = {}
            result = select(target, _findings_query())
            for finding, name, kind, value in result.rows:
                assert finding is not None and name is not None and kind is not None
                assert not isinstance(finding, ox.Triple) and not isinstance(name, ox.Triple)
                assert not isinstance(kind, ox.Triple) and not isinstance(value, ox.Triple)
                entry = rows.setdefault(finding.value, (name.value, [], []))
                if value is not None and kind.value == "synonym":
                    entry[1].append(value.value)
                elif value is not None and kind.value == "tag":
                    entry[2].append(value.value)
            index = [
                _Entry(oifm_id, name, tuple(sorted(set(s))), tuple(sorted(set(t))))
                for oifm_id, (name, s, t) in sorted(rows.items())
            ]
            self._cache["search"] = index
        return index  # type: ignore[no-any-return]

    def search_findings(
        self,
        query: str,
        tags: list[str] | None = None,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """Finding models whose name, synonyms or tags hold every word of ``query``, or that
        use the code ``query`` names, best match first; ``tags`` keeps those with every one
        of these tags."""
        offset, limit = _paged(offset, limit)
        text = _text("query", query, MAX_SEARCH_CHARS)
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
        ):
            raise ToolInputError("bad tags: give a list of tags as text")
        wanted_tags = {t.strip().casefold() for t in tags or () if t.strip()}
        words = search_words(text)
        by_code: dict[str, str] = {}
        code_note = None
        try:
            code = parse_code(text) if text.strip() else None
        except CodeLookupError:
            code = None
        with self._target() as target:
            index = self._index(target)
            if code is not None:
                try:
                    used = lookup(target, code).used_by
                except CodeLookupError as exc:
                    code_note = str(exc)
                else:
                    for use in used:
                        best = "finding" if use.kind in ("finding", "location") else "part"
                        if by_code.get(use.finding) != "finding":
                            by_code[use.finding] = best
        if not words and code is None:
            raise ToolInputError(
                f"the query {_shown(text)} holds no word to search for: give words of a "
                "finding's name, synonyms or tags, or a code"
            )
        hits = []
        for entry in index:
            if wanted_tags and not wanted_tags <= {t.casefold() for t in entry.tags}:
                continue
            scored = _score(entry, words)
            how = by_code.get(entry.oifm_id)
            if how is not None:
                key = "code" if how == "finding" else "code-part"
                if scored is None or SCORES[key] > scored[0]:
                    scored = (SCORES[key], "code")
            if scored is not None:
                hits.append((scored, entry))
        hits.sort(key=lambda hit: (-hit[0][0], hit[1].name.casefold(), hit[1].oifm_id))
        shown = hits[offset : offset + limit]
        out: dict[str, Any] = {
            "query": text,
            "tags": sorted(wanted_tags),
            "items": [
                {
                    "oifm_id": entry.oifm_id,
                    "name": entry.name,
                    "synonyms": list(entry.synonyms),
                    "tags": list(entry.tags),
                    "score": score,
                    "matched": matched,
                }
                for (score, matched), entry in shown
            ],
            "page": page(len(hits), offset, limit, len(shown)),
        }
        if code is not None:
            out["code"] = code.curie
            if code_note is not None:
                out["code_note"] = code_note
        return out

    # -------------------------------------------------------------- get_finding

    def _check_id(self, oifm_id: object) -> str:
        if not isinstance(oifm_id, str) or not re.fullmatch(OIFM_ID_PATTERN, oifm_id.strip()):
            raise ToolInputError(
                f"{_shown(oifm_id)} is not an OIFM ID (expected the pattern {OIFM_ID_PATTERN}, "
                "e.g. OIFM_GMTS_004244)"
            )
        return oifm_id.strip()

    def _model(self, target: Store | SparqlBackend, oifm_id: str) -> FindingModel:
        from ontomap.backends import LocalBackend
        from ontomap.store import Store

        store = target.store if isinstance(target, LocalBackend) else target
        if isinstance(store, Store):
            from ontomap.graph import models_from_triples

            models = models_from_triples(_model_triples(store, oifm_id))
        else:
            from ontomap.graph import model_graph_iri
            from ontomap.query import run_query

            # As _model_triples reads a store, in one query (mcp/model-graph.rq).
            graph = model_graph_iri(oifm_id)
            result = run_query(target, _model_graph_query(), {"graph": graph})
            models = result.graph.models()  # type: ignore[union-attr]
        found = [m for m in models if m.oifm_id == oifm_id]
        if not found:
            raise _NotInStore(oifm_id, self.location)
        return found[0]

    def _sources(self, target: Store | SparqlBackend) -> dict[str, Any]:
        """Each model's source file and format (a store's ``_meta`` graph), read once per
        generation; empty on an endpoint."""
        sources = self._cache.get("sources")
        if sources is None:
            read = getattr(target, "sources", None)
            sources = read() if read is not None else {}
            self._cache["sources"] = sources
        return sources  # type: ignore[no-any-return]

    def get_finding(self, oifm_id: str, format: str = "json") -> dict[str, Any]:
        """One finding model: ``json``, the model in the OIFM JSON shape as the store's
        graph holds it; ``source``, the text of the file it was built from (JSON or
        Markdown), when the store is local and the file is still there."""
        wanted = self._check_id(oifm_id)
        if format not in ("json", "source"):
            raise ToolInputError(f"bad format {_shown(format)}: give json or source")
        with self._target() as target:
            model = self._model(target, wanted)
            sources = self._sources(target)
        info = sources.get(wanted)
        out: dict[str, Any] = {
            "oifm_id": wanted,
            "name": model.name,
            "format": format,
            "source_file": info.path if info is not None else None,
            "source_format": info.format if info is not None else None,
        }
        if format == "json":
            out["model"] = model_json(model)
            return out
        if info is None:
            raise ToolInputError(
                f"the endpoint at {self.location} does not say where {wanted} came from: "
                "ask for format json"
            )
        from ontomap.readers import read_text

        try:
            out["text"] = read_text(info.path)
        except (OSError, OntomapError) as exc:
            raise ToolInputError(
                f"cannot read {wanted}'s source file {info.path}: {exc}; ask for format json "
                "(the model as the store holds it)"
            ) from None
        return out

    def finding_resource(self, oifm_id: str) -> str:
        """The text of the resource ``ontomap://findings/{oifm_id}``: the model as JSON."""
        answer = self.get_finding(oifm_id, "json")
        return json.dumps(answer["model"], ensure_ascii=False, indent=2) + "\n"

    # -------------------------------------------------------------- sparql_select

    def _workers(self) -> WorkerPool:
        from ontomap.server import WorkerPool

        with self._pool_lock:
            if self._closed:
                raise StoreError("the MCP server is shutting down")
            if self._pool is None:
                assert self.store_path is not None
                pool = WorkerPool(
                    self.store_path,
                    self.workers,
                    self.sparql_timeout,
                    self.max_rows,
                    log=lambda _message: None,
                    answer_cache_bytes=0,
                )
                pool.start()
                self._pool = pool
            return self._pool

    def sparql_select(
        self, query: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> dict[str, Any]:
        """A read-only SELECT query, checked as ``ontomap serve`` checks every query (no
        SERVICE, no update, a bounded nesting), run with its timeout and row cap; one page of
        the solutions in the W3C SPARQL JSON results form."""
        from ontomap.query import UPDATE_KEYWORDS, UpdateRefusedError, leading_keyword

        offset, limit = _paged(offset, limit)
        text = _text("query", query, MAX_QUERY_CHARS)
        keyword = leading_keyword(text)
        if keyword in UPDATE_KEYWORDS:
            raise UpdateRefusedError(keyword)  # type: ignore[arg-type]
        if keyword in ("ASK", "CONSTRUCT", "DESCRIBE"):
            raise ToolInputError(
                f"sparql_select runs SELECT queries; this one is {keyword}"
                + (" (write it as a SELECT)" if keyword == "ASK" else "")
            )
        if self._remote is not None:
            variables, bindings, truncated = self._remote_select(text)
        else:
            variables, bindings, truncated = self._local_select(text)
        shown = bindings[offset : offset + limit]
        out = {
            "vars": variables,
            "bindings": shown,
            "max_rows": self.max_rows,
            "truncated": truncated,
            "page": page(len(bindings), offset, limit, len(shown)),
        }
        if truncated:
            out["note"] = (
                f"the query has more than {self.max_rows:,} solutions: only the first "
                f"{self.max_rows:,} are computed; narrow it or page it with LIMIT and OFFSET "
                "(with ORDER BY)"
            )
        return out

    def _local_select(self, text: str) -> tuple[list[str], list[dict[str, Any]], bool]:
        from ontomap.server import TRUNCATED_HEADER, QueryJob

        response = self._workers().run(QueryJob(text, format="json"))
        body = response.body.decode("utf-8", errors="replace")
        if response.status != 200:
            raise _QueryFailed(body.strip())
        document = json.loads(body)
        truncated = any(
            name == TRUNCATED_HEADER and value == "true" for name, value in response.headers
        )
        return document["head"]["vars"], document["results"]["bindings"], truncated

    def _remote_select(self, text: str) -> tuple[list[str], list[dict[str, Any]], bool]:
        from ontomap.query import QueryError, select
        from ontomap.query.safety import check_safe

        try:
            check_safe(text)
        except QueryError as exc:
            raise _QueryFailed(f"query refused: {exc}") from None
        with self._target() as target:
            result = select(target, text)
        document = json.loads(result.data)
        bindings = document["results"]["bindings"]
        truncated = len(bindings) > self.max_rows
        return document["head"]["vars"], bindings[: self.max_rows], truncated

    # -------------------------------------------------------------- mapping_set

    def mapping_set(
        self,
        source_system: str,
        target_system: str,
        min_support: int = 1,
        min_share: float = 0.0,
        outliers: str = "exclude",
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """The mappings from ``source_system`` to ``target_system`` (``ontomap mappings``'s
        set: paired pairs only, with the thresholds and outlier policy given), a page at a
        time, each with its predicate, cardinalities, evidence and confidence."""
        from ontomap.mappings import build_mapping_set

        offset, limit = _paged(offset, limit)
        source = _system_key(source_system, "source_system")
        target = _system_key(target_system, "target_system")
        if source == target:
            raise ToolInputError(f"source_system and target_system name the same system ({source})")
        support = _count("min_support", min_support, 1, 10**6)
        if support < 1:
            raise ToolInputError("bad min_support 0: give a whole number from 1 to 1000000")
        if isinstance(min_share, bool) or not isinstance(min_share, int | float):
            raise ToolInputError(f"bad min_share {_shown(min_share)}: give a number from 0 to 1")
        if not 0.0 <= float(min_share) <= 1.0:
            raise ToolInputError(f"bad min_share {_shown(min_share)}: give a number from 0 to 1")
        if outliers not in ("exclude", "mark"):
            raise ToolInputError(f"bad outliers {_shown(outliers)}: give exclude or mark")
        key = (source, target, support, float(min_share), outliers)
        with self._target() as store:
            mapping_set = self._mapping_sets.get(key)
            if mapping_set is None:
                mapping_set = build_mapping_set(
                    store,
                    source,
                    target,
                    min_support=support,
                    min_share=float(min_share),
                    outliers=outliers,  # type: ignore[arg-type]
                )
                self._mapping_sets[key] = mapping_set
                while len(self._mapping_sets) > _MAPPING_SETS_KEPT:
                    self._mapping_sets.popitem(last=False)
            else:
                self._mapping_sets.move_to_end(key)
        shown = mapping_set.mappings[offset : offset + limit]
        return {
            "id": mapping_set.id,
            "title": mapping_set.title,
            "source_system": source,
            "target_system": target,
            "min_support": support,
            "min_share": float(min_share),
            "outliers": outliers,
            "counts": {
                "mappings": len(mapping_set),
                "colisted_left_out": mapping_set.colisted,
                "below_threshold": mapping_set.below_threshold,
                "outliers_left_out": mapping_set.excluded_outliers,
                "by_predicate": mapping_set.counts(),
            },
            "mappings": [_mapping_json(m) for m in shown],
            "page": page(len(mapping_set), offset, limit, len(shown)),
        }


def _mapping_json(mapping: Any) -> dict[str, Any]:
    pair = mapping.pair
    return {
        "subject": pair.source.curie,
        "subject_label": pair.source_label,
        "object": pair.target.curie,
        "object_label": pair.target_label,
        "predicate": mapping.predicate,
        "justification": mapping.justification,
        "set_cardinality": mapping.sssom_cardinality,
        "corpus_cardinality": pair.cardinality,
        "confidence": round(pair.confidence, 4),
        "independent_contexts": pair.paired.context_count,
        "paired_entities": pair.paired.entity_count,
        "findings": pair.co_indexed.findings,
        "template": pair.template,
        "share": round(pair.share, 4),
        "target_share": round(pair.target_share, 4),
        "lexical_score": None if pair.lexical_score is None else round(pair.lexical_score, 4),
        "outlier": mapping.marked_outlier,
    }


def _model_triples(store: Store, oifm_id: str) -> list[Any]:
    """The triples of one model's graph and of the concepts and schemes it uses (what
    :meth:`~ontomap.store.Store.model_graph` gives), read by pattern: a few hundred lookups in
    the indexes instead of a query over the codes graph."""
    import pyoxigraph as ox

    from ontomap.graph import CODES_GRAPH, model_graph_iri
    from ontomap.vocab import SKOS

    database = store.oxigraph
    out = []
    objects: dict[str, ox.NamedNode] = {}
    for quad in database.quads_for_pattern(None, None, None, model_graph_iri(oifm_id)):
        out.append(ox.Triple(quad.subject, quad.predicate, quad.object))
        if isinstance(quad.object, ox.NamedNode):
            objects.setdefault(quad.object.value, quad.object)
    schemes: dict[str, ox.NamedNode] = {}
    for node in objects.values():
        for quad in database.quads_for_pattern(node, None, None, CODES_GRAPH):
            out.append(ox.Triple(quad.subject, quad.predicate, quad.object))
            if quad.predicate == SKOS.inScheme and isinstance(quad.object, ox.NamedNode):
                schemes.setdefault(quad.object.value, quad.object)
    for node in schemes.values():
        for quad in database.quads_for_pattern(node, None, None, CODES_GRAPH):
            out.append(ox.Triple(quad.subject, quad.predicate, quad.object))
    return out


class _NotInStore(OntomapError):
    """A well-formed OIFM ID that the store holds no model for (CLI: not found)."""

    def __init__(self, oifm_id: str, location: str) -> None:
        super().__init__(
            f"{oifm_id} is not in the store at {location}; search with search_findings, or "
            "build the store from the models that define it"
        )


class _QueryFailed(OntomapError):
    """A query the checks refused or the engine could not run (the message says why)."""


@cache
def _findings_query() -> str:
    from ontomap.sparql import sparql_text

    return sparql_text("ontomap.mcp", "findings.rq")


@cache
def _model_graph_query() -> str:
    from ontomap.sparql import sparql_text

    return sparql_text("ontomap.mcp", "model-graph.rq")
