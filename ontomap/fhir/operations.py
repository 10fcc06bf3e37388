"""The FHIR terminology operations: pure functions from an operation's parameters and a
:class:`~ontomap.fhir.source.TerminologySource` to a resource (a JSON-ready dict).

- :func:`translate` (``ConceptMap/$translate``) is :func:`ontomap.lookup.lookup` with ``to``:
  one ``match`` per derived mapping (a paired pair that is no outlier, as the ConceptMaps of
  ``ontomap mappings`` hold), its relationship (R5) or equivalence (R4), the ConceptMap it
  belongs to (``originMap``) and the crosswalk's evidence as extensions.
- :func:`lookup_code` (``CodeSystem/$lookup``): name, display, designations (the displays
  authors gave the code; preferred term and synonyms of a loaded release) and properties (uses
  and contexts in the models; parent, child and status where a release is loaded).
- :func:`validate_code` (``CodeSystem/$validate-code``, ``ValueSet/$validate-code``):
  ``result``, ``display``, ``message`` and an ``OperationOutcome`` in ``issues``.
- :func:`expand` (``ValueSet/$expand``): the value set of a choice attribute (its values as
  OIFM codes, their index codes beside them) or the implicit all-codes value set of a system
  (the codes the models use), paged by ``count`` and ``offset``.

Errors that stop an operation are raised as :class:`~ontomap.fhir.resources.FhirError`
(an ``OperationOutcome`` with an HTTP status); an answer that is a negative result (an unknown
code to validate, no mapping) is a 200 ``Parameters`` with ``result`` false.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ontomap.crosswalk import CrosswalkPair, system_order
from ontomap.fhir.resources import (
    DESIGNATION_USE,
    HL7_TERM_MAINT,
    MAX_COUNT,
    OIFM_SYSTEM,
    VALUE_SET_NAMESPACE,
    FhirError,
    FhirVersion,
    Params,
    coding,
    concept_map_url,
    issue,
    outcome,
    param,
    parameters,
    system_for_uri,
    system_uri,
    value_set_system,
)
from ontomap.fhir.source import OifmEntity, TerminologySource
from ontomap.lookup import CodeNotFoundError, LookupResult, MalformedCodeError, malformation
from ontomap.mappings import XWALK_NS, Mapping, evidence, evidence_facts, number
from ontomap.mappings.fhir import EXAMPLE_ENTITIES, R4_EQUIVALENCE, R5_RELATIONSHIP
from ontomap.model import IndexCode
from ontomap.terminology import CodeSystem, default_registry

__all__ = [
    "DEFAULT_COUNT",
    "EXTENSION_NAMESPACE",
    "expand",
    "lookup_code",
    "translate",
    "translation_matches",
    "validate_code",
]

#: Values of an expansion page when ``count`` is not given.
DEFAULT_COUNT = 100
#: Namespace of the evidence extensions on a ``$translate`` match (ontomap's crosswalk terms).
EXTENSION_NAMESPACE = XWALK_NS
_VALUE_KEY = {"string": "String", "decimal": "Decimal", "integer": "Integer", "boolean": "Boolean"}


def now() -> str:
    """The current time, as FHIR ``dateTime`` (UTC, seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _code_of(system: CodeSystem, code: str) -> IndexCode:
    return IndexCode.of(system.key, code)


def _given(
    params: Params,
    system_names: tuple[str, ...],
    code_names: tuple[str, ...],
    coding_names: tuple[str, ...],
) -> tuple[str | None, str | None, str | None]:
    """The (system, code, display) of a code given as system + code or as a coding."""
    found = params.coding(*coding_names) if coding_names else None
    if found is not None:
        system, code = found.get("system"), found.get("code")
        display = found.get("display")
        if not isinstance(code, str) or not code:
            raise FhirError(
                400, "invalid", f"the {coding_names[0]} has no code", None, coding_names[0]
            )
        return (
            system if isinstance(system, str) else None,
            code,
            display if isinstance(display, str) else None,
        )
    return params.text(*system_names), params.text(*code_names), None


# ------------------------------------------------------------------ $translate


def _map_systems(url: str) -> tuple[CodeSystem | None, CodeSystem | None]:
    """The (source, target) systems of the ConceptMap ``url`` (``|version`` allowed)."""
    bare = url.split("|", 1)[0]
    systems: list[CodeSystem | None] = [None, *default_registry().systems]
    for x in systems:
        for y in systems:
            if (x is None or y is None or x.key != y.key) and concept_map_url(x, y) == bare:
                return x, y
    raise FhirError(
        404,
        "not-found",
        f"no ConceptMap {bare} on this server (see ConceptMap?url= for those it has)",
        "not-found",
        "url",
    )


def translation_matches(result: LookupResult) -> list[CrosswalkPair]:
    """The pairs of a lookup that are mappings: paired, no outlier (as in the ConceptMaps)."""
    return [m.pair for m in result.matches if m.predicate is not None and m.flag != "outlier"]


def _evidence_extensions(mapping: Mapping) -> list[dict[str, Any]]:
    found = [
        {"url": EXTENSION_NAMESPACE + fact.name, f"value{_VALUE_KEY[fact.kind]}": value}
        for fact, value in evidence_facts(mapping)
    ]
    p = mapping.pair
    found += [
        {"url": EXTENSION_NAMESPACE + "predicate", "valueString": mapping.predicate},
        {"url": EXTENSION_NAMESPACE + "share", "valueDecimal": number(p.share)},
        {"url": EXTENSION_NAMESPACE + "targetShare", "valueDecimal": number(p.target_share)},
        {"url": EXTENSION_NAMESPACE + "confidence", "valueDecimal": number(p.confidence)},
        {
            "url": EXTENSION_NAMESPACE + "comment",
            "valueString": evidence(mapping, EXAMPLE_ENTITIES),
        },
    ]
    return found


def _pair_coding(code: IndexCode, label: str | None) -> dict[str, Any]:
    return coding(system_uri(code.code_system), code.code, label)


def translate(source: TerminologySource, version: FhirVersion, params: Params) -> dict[str, Any]:
    """``ConceptMap/$translate``: the R5 names (``sourceSystem``, ``sourceCode``,
    ``sourceCoding``, ``targetSystem``, ``targetCode``/``targetCoding`` for a reverse
    translation) and the R4 ones (``system``, ``code``, ``coding``, ``targetsystem``,
    ``reverse``) are both read; ``url`` or ``conceptMap`` selects one ConceptMap."""
    url = params.text("url", "conceptMap", "conceptMapUrl")
    map_source, map_target = _map_systems(url) if url else (None, None)
    target_system_uri = params.text("targetSystem", "targetsystem")
    target_code = params.text("targetCode")
    target_coding = params.coding("targetCoding")
    reverse = params.flag("reverse") if "reverse" in params.values else False
    if target_code is not None or target_coding is not None:  # R5 reverse
        reverse = True
        if target_coding is not None:
            given_system, given_code = target_coding.get("system"), target_coding.get("code")
        else:
            given_system, given_code = target_system_uri, target_code
        other_uri = params.text("sourceSystem", "system")
    else:
        given_system, given_code, _display = _given(
            params, ("sourceSystem", "system"), ("sourceCode", "code"), ("sourceCoding", "coding")
        )
        other_uri = target_system_uri
    if not given_code:
        raise FhirError(
            400,
            "required",
            "give the code to translate: sourceCode (R4: code) with sourceSystem (R4: system), "
            "or sourceCoding (R4: coding); targetCode for a reverse translation",
        )
    fixed_given, fixed_other = (map_target, map_source) if reverse else (map_source, map_target)
    if not given_system:
        if fixed_given is None:
            raise FhirError(400, "required", f"give the system of the code {given_code!r}")
        given_system = system_uri(fixed_given)
    system = system_for_uri(given_system, "system")
    other = system_for_uri(other_uri, "targetSystem") if other_uri else fixed_other
    if fixed_given is not None and system.key != fixed_given.key:
        raise FhirError(
            400,
            "invalid",
            f"the ConceptMap {url} maps {'to' if reverse else 'from'} {fixed_given.label}, "
            f"not {system.label}",
        )
    if fixed_other is not None and other is not None and other.key != fixed_other.key:
        raise FhirError(
            400, "invalid", f"the ConceptMap {url} maps to {fixed_other.label}, not {other.label}"
        )
    code = _code_of(system, given_code)
    given = _pair_coding(code, None)
    wanted = f" to {other.label}" if other is not None else ""
    try:
        result = source.lookup(code, other.key if other is not None else None)
    except (CodeNotFoundError, MalformedCodeError) as exc:
        return parameters(
            [
                param("result", "Boolean", False),
                param("message", "String", f"{exc}; no translation{wanted}"),
            ]
        )
    pairs = translation_matches(result)
    matches = []
    for pair in pairs:
        oriented = pair.reversed() if reverse else pair
        mapping = Mapping(oriented, oriented.cardinality or "1:1")
        found = _pair_coding(pair.target, pair.target_label)
        relation = (
            param("equivalence", "Code", R4_EQUIVALENCE[mapping.predicate])
            if version == "R4"
            else param("relationship", "Code", R5_RELATIONSHIP[mapping.predicate])
        )
        origin = concept_map_url(oriented.source.code_system, oriented.target.code_system)
        parts = [
            param("concept", "Coding", given if reverse else found),
            relation,
            param("originMap", "Canonical", origin),
        ]
        if reverse:
            parts.append(param("source", "Coding", found))
        matches.append({"name": "match", "extension": _evidence_extensions(mapping), "part": parts})
    shown = f"{system.label} {code.code}"
    colisted = sum(1 for m in result.matches if m.predicate is None)
    if pairs:
        message = (
            f"{len(pairs)} mapping{'s' if len(pairs) != 1 else ''} of {shown}{wanted}, derived "
            "from OIFM index codes: evidence, not equivalence (see each match's comment "
            "extension)"
        )
    else:
        message = f"no mapping of {shown}{wanted} in the models"
        if colisted:
            message += (
                f" ({colisted} code{'s' if colisted != 1 else ''} listed on the same entities, "
                "their displays not pairing them)"
            )
    return parameters(
        [param("result", "Boolean", bool(pairs)), param("message", "String", message), *matches]
    )


# ------------------------------------------------------------------ $lookup


def _property(code: str, kind: str, value: Any, description: str | None = None) -> dict[str, Any]:
    parts = [param("code", "Code", code), param("value", kind, value)]
    if description:
        parts.append(param("description", "String", description))
    return {"name": "property", "part": parts}


def _designation(
    value: str,
    use_system: str,
    use_code: str,
    language: str | None = None,
    use_display: str | None = None,
) -> dict[str, Any]:
    parts = []
    if language:
        parts.append(param("language", "Code", language))
    parts.append(param("use", "Coding", coding(use_system, use_code, use_display)))
    parts.append(param("value", "String", value))
    return {"name": "designation", "part": parts}


def _wanted(params: Params) -> set[str] | None:
    """The property codes asked for (``None``: all)."""
    asked = [p for p in params.all("property") if isinstance(p, str)]
    return None if not asked or "*" in asked else set(asked)


def _oifm_entity(source: TerminologySource, code: str, expression: str) -> OifmEntity:
    entity = source.entity(code)
    if entity is None:
        raise FhirError(
            404,
            "not-found",
            f"Unknown code '{code}' in the CodeSystem '{OIFM_SYSTEM}'",
            "invalid-code",
            expression,
        )
    return entity


def _oifm_properties(source: TerminologySource, entity: OifmEntity) -> list[dict[str, Any]]:
    found = [_property("kind", "Code", entity.kind)]
    if entity.parent is not None:
        owner = source.entity(entity.parent)
        found.append(_property("parent", "Code", entity.parent, owner.name if owner else None))
    found += [_property("child", "Code", child, name) for child, name in entity.children]
    found += [
        _property("indexCode", "Coding", _pair_coding(c, source.label(c)), c.code_system.label)
        for c in entity.index_codes
    ]
    return found


def lookup_code(source: TerminologySource, version: FhirVersion, params: Params) -> dict[str, Any]:
    """``CodeSystem/$lookup`` (``system``, ``code`` or ``coding``, ``property``, ``version``,
    ``displayLanguage``)."""
    system_text, code_text, _display = _given(params, ("system",), ("code",), ("coding",))
    if not system_text or not code_text:
        raise FhirError(400, "required", "give system and code, or a coding, to look up")
    wanted = _wanted(params)

    def keep(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p for p in items if wanted is None or p["part"][0]["valueCode"] in wanted]

    if system_text == OIFM_SYSTEM:
        entity = _oifm_entity(source, code_text, "code")
        designations = [_designation(entity.name, DESIGNATION_USE, "oifm-name", "en")]
        if entity.description:
            designations.append(_designation(entity.description, DESIGNATION_USE, "description"))
        return parameters(
            [
                param("name", "String", "OIFM"),
                param("system", "Uri", OIFM_SYSTEM),
                param("code", "Code", entity.id),
                param("display", "String", entity.name),
                param("definition", "String", entity.description),
                *designations,
                *keep(_oifm_properties(source, entity)),
            ]
        )
    system = system_for_uri(system_text, "system")
    code = _code_of(system, code_text)
    info = source.info(code)
    concept = source.concept(code)
    if info is None and concept is None:
        raise FhirError(
            404,
            "not-found",
            f"Unknown code '{code_text}' in the CodeSystem '{system_uri(system)}': no model "
            "uses it" + (" and no loaded release has it" if source.release(system) else ""),
            "invalid-code",
            "code",
        )
    labels = info.labels if info is not None else ()
    display = (concept.preferred_term if concept is not None else None) or (
        labels[0] if labels else None
    )
    designations = []
    properties = []
    release_version = None
    if concept is not None:
        release_version = concept.release.version
        if concept.preferred_term:
            designations.append(
                _designation(
                    concept.preferred_term,
                    HL7_TERM_MAINT,
                    "preferredForLanguage",
                    "en",
                    "Preferred For Language",
                )
            )
        designations += [
            _designation(s, DESIGNATION_USE, "synonym", None, "Synonym in the release")
            for s in concept.synonyms
        ]
        properties.append(_property("inactive", "Boolean", not concept.active))
        properties.append(_property("status", "Code", concept.status))
        properties += [_property("parent", "Code", p.code, p.display) for p in concept.parents]
        properties += [
            _property("child", "Code", c.code, source.label(c)) for c in source.children(code)
        ]
    designations += [
        _designation(label, DESIGNATION_USE, "corpus-display", None, "Display in OIFM models")
        for label in labels
    ]
    if info is not None:
        properties.append(
            _property("uses", "Integer", info.uses, "OIFM entities indexed by the code")
        )
        properties.append(
            _property(
                "contexts", "Integer", info.contexts, "independent authoring contexts of those uses"
            )
        )
    return parameters(
        [
            param("name", "String", system.label),
            param("system", "Uri", system_uri(system)),
            param("version", "String", release_version),
            param("code", "Code", code.code),
            param("display", "String", display),
            *designations,
            *keep(properties),
        ]
    )


# ------------------------------------------------------------------ $validate-code


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _validation(
    code: str | None,
    system: str | None,
    display: str | None,
    issues: list[dict[str, Any]],
    result: bool,
    version: str | None = None,
    extra: list[dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    messages = [i["details"]["text"] for i in issues if i["severity"] == "error"]
    return parameters(
        [
            param("code", "Code", code),
            param("display", "String", display),
            {"name": "issues", "resource": outcome(issues)} if issues else None,
            param("message", "String", "; ".join(messages) if messages else None),
            param("result", "Boolean", result),
            param("system", "Uri", system),
            param("version", "String", version),
            *(extra or []),
        ]
    )


def _check_display(
    given: str | None, display: str | None, valid: list[str], where: str, expression: str
) -> list[dict[str, Any]]:
    if given is None or not valid or _normal(given) in {_normal(v) for v in valid}:
        return []
    choices = ", ".join(f"'{v}'" for v in valid[:10]) + (" ..." if len(valid) > 10 else "")
    return [
        issue(
            "error",
            "invalid",
            f"Wrong Display Name '{given}' for {where}. Valid display is "
            + (f"'{display}'" if len(valid) == 1 else f"one of {len(valid)} choices: {choices}"),
            "invalid-display",
            expression,
        )
    ]


def _known_code(
    source: TerminologySource, system: CodeSystem, code_text: str
) -> tuple[str | None, list[str], str | None] | None:
    """(display, valid displays, release version) of a code the models use or a loaded
    release has; ``None`` for an unknown code."""
    code = _code_of(system, code_text)
    info = source.info(code)
    concept = source.concept(code)
    if info is None and concept is None:
        return None
    valid = list(info.labels) if info is not None else []
    display = valid[0] if valid else None
    release_version = None
    if concept is not None:
        release_version = concept.release.version
        names = [n for n in (concept.preferred_term, *concept.synonyms) if n]
        valid = [*names, *(v for v in valid if v not in names)]
        display = concept.preferred_term or display
    return display, valid, release_version


def validate_code(
    source: TerminologySource, version: FhirVersion, params: Params, kind: str
) -> dict[str, Any]:
    """``CodeSystem/$validate-code`` (``kind`` ``CodeSystem``: ``url`` is the code system) or
    ``ValueSet/$validate-code`` (``kind`` ``ValueSet``: ``url`` is the value set)."""
    coded = params.coding("coding", "codeableConcept")
    expression = "Coding.code" if coded is not None else "code"
    system_expression = "Coding.system" if coded is not None else "system"
    if kind == "CodeSystem":
        system_text, code_text, display_text = _given(
            params, ("url", "system"), ("code",), ("coding", "codeableConcept")
        )
        value_set = None
    else:
        value_set = params.text("url", "valueSet")
        if not value_set:
            raise FhirError(400, "required", "give the value set: url")
        system_text, code_text, display_text = _given(
            params, ("system",), ("code",), ("coding", "codeableConcept")
        )
    display_text = params.text("display") or display_text
    if not code_text:
        raise FhirError(400, "required", "give the code to validate: code, or a coding")
    members: OifmEntity | None = None
    implicit: CodeSystem | None = None
    if value_set is not None:
        bare = value_set.split("|", 1)[0]
        implicit = value_set_system(bare)
        if implicit is None:
            members = _value_set_attribute(source, bare)
        if not system_text:
            system_text = system_uri(implicit) if implicit is not None else OIFM_SYSTEM
    if not system_text:
        raise FhirError(400, "required", "give the code system: url (or system), or a coding")
    if system_text == OIFM_SYSTEM:
        entity = source.entity(code_text)
        if members is not None and (entity is None or entity.parent != members.id):
            text = (
                f"The provided code '{OIFM_SYSTEM}#{code_text}' was not found in the value "
                f"set '{value_set}'"
            )
            return _validation(
                code_text,
                OIFM_SYSTEM,
                None,
                [issue("error", "code-invalid", text, "not-in-vs", expression)],
                False,
            )
        if implicit is not None or entity is None:
            what = (
                f"Unknown code '{code_text}' in the CodeSystem '{OIFM_SYSTEM}'"
                if entity is None
                else f"The provided code '{OIFM_SYSTEM}#{code_text}' was not found in the "
                f"value set '{value_set}'"
            )
            tx = "invalid-code" if entity is None else "not-in-vs"
            return _validation(
                code_text,
                OIFM_SYSTEM,
                None,
                [issue("error", "code-invalid", what, tx, expression)],
                False,
            )
        issues = _check_display(
            display_text, entity.name, [entity.name], f"{OIFM_SYSTEM}#{code_text}", "display"
        )
        return _validation(code_text, OIFM_SYSTEM, entity.name, issues, not issues)
    try:
        system = system_for_uri(system_text, system_expression)
    except FhirError as exc:
        issues = [issue("error", "not-found", exc.message, "not-found", system_expression)]
        if value_set:
            issues.insert(
                0,
                issue(
                    "error",
                    "code-invalid",
                    f"The provided code '{system_text}#{code_text}' was not found in the value set "
                    f"'{value_set}'",
                    "not-in-vs",
                    expression,
                ),
            )
        return _validation(
            code_text,
            system_text,
            None,
            issues,
            False,
            extra=[param("x-unknown-system", "Canonical", system_text)],
        )
    uri = system_uri(system)
    if members is not None or (implicit is not None and implicit.key != system.key):
        text = f"The provided code '{uri}#{code_text}' was not found in the value set '{value_set}'"
        return _validation(
            code_text,
            uri,
            None,
            [issue("error", "code-invalid", text, "not-in-vs", expression)],
            False,
        )
    known = _known_code(source, system, code_text)
    if known is None:
        reason = malformation(_code_of(system, code_text))
        text = f"Unknown code '{code_text}' in the CodeSystem '{uri}'" + (
            f" ({reason})" if reason else ""
        )
        issues = [issue("error", "code-invalid", text, "invalid-code", expression)]
        if value_set:
            issues.insert(
                0,
                issue(
                    "error",
                    "code-invalid",
                    f"The provided code '{uri}#{code_text}' was not found in the value set "
                    f"'{value_set}'",
                    "not-in-vs",
                    expression,
                ),
            )
        return _validation(code_text, uri, None, issues, False)
    display, valid, release_version = known
    issues = _check_display(display_text, display, valid, f"{uri}#{code_text}", "display")
    return _validation(code_text, uri, display, issues, not issues, release_version)


# ------------------------------------------------------------------ value sets


def value_set_id(attribute: str) -> str:
    """The resource id of a choice attribute's value set (FHIR ids have no ``_``)."""
    return attribute.replace("_", "-")


def value_set_attribute(resource_id: str) -> str:
    """The choice attribute whose value set has the resource id ``resource_id``."""
    return resource_id.replace("-", "_")


def _value_set_attribute(source: TerminologySource, url: str) -> OifmEntity:
    """The choice attribute whose value set is ``url`` (404 when there is none)."""
    found = None
    if url.startswith(VALUE_SET_NAMESPACE):
        entity = source.entity(url[len(VALUE_SET_NAMESPACE) :])
        if entity is not None and entity.choice:
            found = entity
    if found is None:
        raise FhirError(
            404,
            "not-found",
            f"A definition for the value set '{url}' could not be found: this server has the "
            f"value sets of choice attributes ({VALUE_SET_NAMESPACE}OIFMA_...) and of all codes "
            "of each code system (SYSTEM?fhir_vs)",
            "not-found",
            "url",
        )
    return found


def value_set_resource(source: TerminologySource, version: FhirVersion, url: str) -> dict[str, Any]:
    """The ``ValueSet`` resource of ``url`` (a choice attribute or an all-codes value set)."""
    system = value_set_system(url)
    if system is not None:
        return {
            "resourceType": "ValueSet",
            "id": f"all-{system.prefix}",
            "url": url,
            "name": "All" + "".join(ch for ch in system.label.title() if ch.isalnum()) + "Codes",
            "title": f"All codes of {system.label}",
            "status": "active",
            "description": f"Every code of {system.label} ({system_uri(system)}); this server "
            "expands it to the codes the OIFM models use.",
            "compose": {"include": [{"system": system_uri(system)}]},
        }
    entity = _value_set_attribute(source, url)
    owner = source.entity(entity.parent) if entity.parent else None
    where = f' of the finding model "{owner.name}"' if owner is not None else ""
    return {
        "resourceType": "ValueSet",
        "id": value_set_id(entity.id),
        "url": url,
        "name": "OIFM_" + "".join(ch if ch.isalnum() else "_" for ch in entity.id),
        "title": f"{entity.name}{where}",
        "status": "active",
        "description": (entity.description or entity.name)
        + f" (the values of the choice attribute {entity.id}{where})",
        "compose": {
            "include": [
                {
                    "system": OIFM_SYSTEM,
                    "concept": [{"code": c, "display": n} for c, n in entity.children],
                }
            ]
        },
    }


def _contains(
    source: TerminologySource, version: FhirVersion, value_id: str, name: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {"system": OIFM_SYSTEM, "code": value_id, "display": name}
    value = source.entity(value_id)
    codes = value.index_codes if value is not None else ()
    if codes and version == "R5":
        entry["property"] = [
            {"code": "indexCode", "valueCoding": _pair_coding(c, source.label(c))} for c in codes
        ]
    elif codes:
        entry["designation"] = [
            {"use": _pair_coding(c, c.code_system.label), "value": source.label(c) or c.code}
            for c in codes
        ]
    return entry


def expand(source: TerminologySource, version: FhirVersion, params: Params) -> dict[str, Any]:
    """``ValueSet/$expand`` (``url``, ``filter``, ``count``, ``offset``)."""
    url = params.text("url", "valueSet")
    if not url:
        raise FhirError(400, "required", "give the value set to expand: url")
    url = url.split("|", 1)[0]
    text = params.text("filter")
    count = params.count("count", DEFAULT_COUNT, MAX_COUNT)
    offset = params.count("offset", 0, 10**9)
    resource = value_set_resource(source, version, url)
    needle = _normal(text) if text else None
    system = value_set_system(url)
    entries: list[tuple[str, str | None]]
    if system is not None:
        entries = [
            (code, source.label(_code_of(system, code))) for code in source.used_codes(system)
        ]
    else:
        concepts = resource["compose"]["include"][0]["concept"]
        entries = [(c["code"], c["display"]) for c in concepts]
    if needle:
        entries = [
            (code, name)
            for code, name in entries
            if needle in _normal(code) or (name is not None and needle in _normal(name))
        ]
    page = entries[offset : offset + count]
    if system is not None:
        contains = [coding(system_uri(system), code, name) for code, name in page]
    else:
        contains = [_contains(source, version, code, name or code) for code, name in page]
    used = [param("offset", "Integer", offset), param("count", "Integer", count)]
    if text:
        used.insert(0, param("filter", "String", text))
    key = f"{url}|{text}|{offset}|{count}|{version}"
    expansion: dict[str, Any] = {
        "identifier": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}",
        "timestamp": now(),
        "total": len(entries),
        "offset": offset,
        "parameter": used,
    }
    if version == "R5" and system is None:
        expansion["property"] = [{"code": "indexCode", "uri": EXTENSION_NAMESPACE + "indexCode"}]
    if contains:
        expansion["contains"] = contains
    resource["expansion"] = expansion
    return resource


# ------------------------------------------------------------------ what this server knows


def code_systems() -> list[CodeSystem]:
    """The registry's code systems, in registry order."""
    return sorted(default_registry().systems, key=lambda s: system_order(s.key))
