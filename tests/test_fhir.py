"""The FHIR terminology service of ``ontomap serve`` (``/fhir/r4``, ``/fhir/r5``), driven over
HTTP and by a real FHIR client (fhirpy) against the corpus store; every answer is parsed with
``fhir.resources`` (R5, and R4 through R4B). Expectations are computed from the corpus's JSON
files, not from ontomap.

The answers' shapes mirror cases of the HL7 terminology ecosystem tests
(HL7/fhir-tx-ecosystem-ig, ``tests/``): ``translate/translate-1`` and
``translate/translate-reverse``; ``simple/simple-lookup-1``; ``validation/simple-code-good``,
``simple-code-bad-code``, ``simple-code-bad-display``, ``simple-code-bad-valueSet``,
``simple-coding-bad-system``, ``cs-code-good`` and ``cs-code-bad-code``.
"""

from __future__ import annotations

import json
import urllib.parse
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from servers import Answer, Served, ontomap_cli, request, start_ontomap

fhir_resources = pytest.importorskip("fhir.resources")

OIFM = "https://w3id.org/ontomap/fhir/CodeSystem/oifm"
VALUE_SETS = "https://w3id.org/ontomap/fhir/ValueSet/"
XWALK = "https://w3id.org/ontomap/crosswalk#"
URIS = {
    "RADLEX": "http://radlex.org",
    "SNOMED": "http://snomed.info/sct",
    "LOINC": "http://loinc.org",
    "GAMUTS": "https://gamuts.net",
    "RADELEMENT": "http://radelement.org",
}
TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"


# ------------------------------------------------------------------ the corpus, read directly


@dataclass
class Corpus:
    """What the tests expect, read from the corpus's JSON files."""

    #: (system, code) → entity IDs listing it.
    uses: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    #: (system, code) → display → the models giving it.
    displays: dict[tuple[str, str], dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    #: entity ID → its index codes.
    codes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: choice attribute ID → its values (ID, name), in order.
    values: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def co_indexed(self, code: tuple[str, str], system: str) -> set[str]:
        """Codes of ``system`` listed on some entity beside ``code``."""
        return {c for entity in self.uses[code] for s, c in self.codes[entity] if s == system} - {
            code[1]
        }

    def exclusive_pairs(self, x: str, y: str) -> list[tuple[str, str]]:
        """(code of x, code of y) pairs where every entity listing either lists exactly one code
        of each system, and that is this pair: pairings no rule can doubt."""
        found = []
        for (system, code), entities in self.uses.items():
            if system != x:
                continue
            partners = self.co_indexed((x, code), y)
            if len(partners) != 1:
                continue
            (partner,) = partners
            if self.co_indexed((y, partner), x) != {code}:
                continue
            every = entities | self.uses[(y, partner)]
            if all(
                sum(s == x for s, _c in self.codes[e]) == 1
                and sum(s == y for s, _c in self.codes[e]) == 1
                for e in every
            ):
                found.append((code, partner))
        return sorted(found)

    def label(self, code: tuple[str, str]) -> str | None:
        """The display most models give ``code`` (ties: alphabetical)."""
        models = self.displays.get(code)
        if not models:
            return None
        return min(models, key=lambda d: (-len(models[d]), d))


def _read_corpus(folder: Path) -> Corpus:
    corpus = Corpus()

    def entity(oifm_id: str, name: str, codes: list[dict[str, Any]] | None, model: str) -> None:
        corpus.names[oifm_id] = name
        listed = []
        for c in codes or ():
            system = {"SNOMEDCT": "SNOMED", "GMTS": "GAMUTS"}.get(c["system"], c["system"])
            key = (system, c["code"])
            corpus.uses[key].add(oifm_id)
            if c.get("display"):
                corpus.displays[key][c["display"]].add(model)
            listed.append(key)
        corpus.codes[oifm_id] = listed

    for path in sorted(folder.glob("*.fm.json")):
        model = json.loads(path.read_text())
        model_id = model["oifm_id"]
        entity(model_id, model["name"], model.get("index_codes"), model_id)
        for attribute in model.get("attributes", ()):
            entity(attribute["oifma_id"], attribute["name"], attribute.get("index_codes"), model_id)
            if attribute.get("type") == "choice":
                corpus.values[attribute["oifma_id"]] = [
                    (v["value_code"], v["name"]) for v in attribute["values"]
                ]
                for v in attribute["values"]:
                    entity(v["value_code"], v["name"], v.get("index_codes"), model_id)
    return corpus


@pytest.fixture(scope="module")
def corpus(corpus_defs: Path) -> Corpus:
    return _read_corpus(corpus_defs)


@pytest.fixture(scope="module")
def served(corpus_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_ontomap(corpus_store, log_dir=tmp_path_factory.mktemp("fhir-serve"))
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------ helpers


def parse(resource: dict[str, Any], version: str = "R5") -> Any:
    """``resource`` parsed by fhir.resources (R4 through R4B), warnings as errors."""
    if version == "R5":
        from fhir.resources import get_fhir_model_class
    else:
        from fhir.resources.R4B import get_fhir_model_class
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def get(
    served: Served,
    version: str,
    path: str,
    params: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    return request(f"{served.url}fhir/{version.lower()}/{path}{query}", headers=headers)


def post(served: Served, version: str, path: str, resource: dict[str, Any]) -> Answer:
    return request(
        f"{served.url}fhir/{version.lower()}/{path}",
        data=json.dumps(resource).encode(),
        headers={"Content-Type": "application/fhir+json"},
    )


def fhir_json(answer: Answer, status: int = 200, version: str = "R5") -> dict[str, Any]:
    assert answer.status == status, answer.text
    assert answer.media_type == "application/fhir+json"
    resource = answer.json()
    assert isinstance(resource, dict)
    parse(resource, version)
    return resource


def values(resource: dict[str, Any], name: str) -> list[Any]:
    """The values (or parts, or resources) of the parameters called ``name``."""
    out = []
    for p in resource["parameter"]:
        if p["name"] == name:
            if "part" in p:
                out.append(p)
            elif "resource" in p:
                out.append(p["resource"])
            else:
                out.append(next(v for k, v in p.items() if k.startswith("value")))
    return out


def one(resource: dict[str, Any], name: str) -> Any:
    (found,) = values(resource, name)
    return found


def part(match: dict[str, Any], name: str) -> Any:
    found = [p for p in match["part"] if p["name"] == name]
    if not found:
        return None
    return next(v for k, v in found[0].items() if k.startswith("value"))


def extension(match: dict[str, Any], name: str) -> Any:
    for e in match.get("extension", ()):
        if e["url"] == XWALK + name:
            return next(v for k, v in e.items() if k.startswith("value"))
    return None


def tx_types(outcome: dict[str, Any]) -> list[str]:
    return [c["code"] for i in outcome["issue"] for c in i["details"].get("coding", ())]


# ------------------------------------------------------------------ $translate


def test_translate_exclusive_pairs(served: Served, corpus: Corpus) -> None:
    """A RadLex code whose every entity lists it with one SNOMED code, always the same one,
    that in turn is listed with no other RadLex code, translates to that code (translate-1)."""
    pairs = corpus.exclusive_pairs("RADLEX", "SNOMED")
    assert len(pairs) >= 5
    for version in ("R4", "R5"):
        for radlex, snomed in pairs[:15]:
            answer = fhir_json(
                get(
                    served,
                    version,
                    "ConceptMap/$translate",
                    [
                        ("sourceSystem" if version == "R5" else "system", URIS["RADLEX"]),
                        ("sourceCode" if version == "R5" else "code", radlex),
                        ("targetSystem" if version == "R5" else "targetsystem", URIS["SNOMED"]),
                    ],
                ),
                version=version,
            )
            assert one(answer, "result") is True
            (match,) = values(answer, "match")
            expected = {"system": URIS["SNOMED"], "code": snomed}
            if corpus.label(("SNOMED", snomed)):
                expected["display"] = corpus.label(("SNOMED", snomed))
            assert part(match, "concept") == expected
            relation = "equivalence" if version == "R4" else "relationship"
            assert part(match, relation) in (
                ("inexact", "relatedto") if version == "R4" else ("related-to",)
            )
            assert part(match, "relationship" if version == "R4" else "equivalence") is None
            assert part(match, "originMap") == "https://w3id.org/ontomap/mappings/radlex-to-sct"
            entities = corpus.uses[("RADLEX", radlex)] & corpus.uses[("SNOMED", snomed)]
            assert extension(match, "entityCount") == len(entities)
            assert extension(match, "cardinality") == "1:1"
            assert extension(match, "subjectUses") == len(corpus.uses[("RADLEX", radlex)])
            assert f"{len(entities):,} entit" in extension(match, "comment")


def test_translate_matches_are_co_indexed(served: Served, corpus: Corpus) -> None:
    """Every match of the most used codes is a code listed on the same entities."""
    top = sorted((k for k in corpus.uses if k[0] == "RADLEX"), key=lambda k: -len(corpus.uses[k]))[
        :20
    ]
    seen = 0
    for system, code in top:
        answer = fhir_json(
            get(
                served,
                "R5",
                "ConceptMap/$translate",
                [("sourceSystem", URIS[system]), ("sourceCode", code)],
            )
        )
        found = {
            (part(m, "concept")["system"], part(m, "concept")["code"])
            for m in values(answer, "match")
        }
        allowed = {
            (URIS[s], c) for s in URIS if s != system for c in corpus.co_indexed((system, code), s)
        }
        assert found <= allowed
        assert one(answer, "result") is bool(found)
        seen += len(found)
    assert seen > 0


def test_translate_reverse(served: Served, corpus: Corpus) -> None:
    """targetCode (R5) and reverse=true (R4): the source codes mapped to a code, the match
    naming the given code as concept and the found one as source (translate-reverse)."""
    radlex, snomed = corpus.exclusive_pairs("RADLEX", "SNOMED")[0]
    r5 = fhir_json(
        post(
            served,
            "R5",
            "ConceptMap/$translate",
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "sourceSystem", "valueUri": URIS["RADLEX"]},
                    {"name": "targetCode", "valueCode": snomed},
                    {"name": "targetSystem", "valueUri": URIS["SNOMED"]},
                ],
            },
        )
    )
    r4 = fhir_json(
        get(
            served,
            "R4",
            "ConceptMap/$translate",
            [
                ("system", URIS["SNOMED"]),
                ("code", snomed),
                ("targetsystem", URIS["RADLEX"]),
                ("reverse", "true"),
            ],
        ),
        version="R4",
    )
    for answer in (r5, r4):
        assert one(answer, "result") is True
        (match,) = values(answer, "match")
        assert part(match, "concept")["code"] == snomed
        assert part(match, "source")["code"] == radlex
        assert part(match, "source")["system"] == URIS["RADLEX"]
        assert part(match, "originMap") == "https://w3id.org/ontomap/mappings/radlex-to-sct"


def test_translate_concept_map_selects_the_systems(served: Served, corpus: Corpus) -> None:
    radlex, snomed = corpus.exclusive_pairs("RADLEX", "SNOMED")[0]
    url = "https://w3id.org/ontomap/mappings/radlex-to-sct"
    answer = fhir_json(
        get(served, "R5", "ConceptMap/$translate", [("url", url), ("sourceCode", radlex)])
    )
    assert [part(m, "concept")["code"] for m in values(answer, "match")] == [snomed]
    wrong = fhir_json(
        get(
            served,
            "R5",
            "ConceptMap/$translate",
            [("url", url), ("sourceCode", snomed), ("sourceSystem", URIS["SNOMED"])],
        ),
        400,
    )
    assert wrong["resourceType"] == "OperationOutcome"
    missing = fhir_json(
        get(
            served,
            "R5",
            "ConceptMap/$translate",
            [("url", "https://w3id.org/ontomap/mappings/nope"), ("sourceCode", radlex)],
        ),
        404,
    )
    assert missing["issue"][0]["code"] == "not-found"


def test_translate_unknown_code_and_system(served: Served, corpus: Corpus) -> None:
    unused = next(f"RID{n}" for n in range(1, 10**6) if ("RADLEX", f"RID{n}") not in corpus.uses)
    answer = fhir_json(
        get(
            served,
            "R5",
            "ConceptMap/$translate",
            [("sourceSystem", URIS["RADLEX"]), ("sourceCode", unused)],
        )
    )
    assert one(answer, "result") is False and not values(answer, "match")
    assert "not used" in one(answer, "message")
    outcome = fhir_json(
        get(
            served,
            "R5",
            "ConceptMap/$translate",
            [("sourceSystem", "http://example.org/nope"), ("sourceCode", "1")],
        ),
        404,
    )
    assert tx_types(outcome) == ["not-found"]
    outcome = fhir_json(
        get(served, "R5", "ConceptMap/$translate", [("sourceSystem", URIS["RADLEX"])]), 400
    )
    assert outcome["issue"][0]["code"] == "required"


def test_cli_translate_answers_as_the_server(
    served: Served, corpus_store: Path, corpus: Corpus
) -> None:
    radlex, snomed = corpus.exclusive_pairs("RADLEX", "SNOMED")[1]
    for version in ("r4", "r5"):
        done = ontomap_cli(
            "translate",
            f"RADLEX:{radlex}",
            "--to",
            "SNOMED",
            "--format",
            "json",
            "--fhir",
            version,
            "--store",
            corpus_store,
        )
        assert done.returncode == 0, done.stderr
        names = (
            ("system", "code", "targetsystem")
            if version == "r4"
            else ("sourceSystem", "sourceCode", "targetSystem")
        )
        served_answer = fhir_json(
            get(
                served,
                version,
                "ConceptMap/$translate",
                list(zip(names, (URIS["RADLEX"], radlex, URIS["SNOMED"]), strict=True)),
            ),
            version=version.upper(),
        )
        assert json.loads(done.stdout) == served_answer
    remote = ontomap_cli(
        "translate",
        f"RADLEX:{radlex}",
        "--to",
        "SNOMED",
        "--format",
        "json",
        "--endpoint",
        served.query,
    )
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout) == served_answer  # the last one: R5
    table = ontomap_cli("translate", radlex, "--to", "SNOMED", "--store", corpus_store)
    assert table.returncode == 0 and snomed in table.stdout
    unused = next(f"RID{n}" for n in range(1, 10**6) if ("RADLEX", f"RID{n}") not in corpus.uses)
    missing = ontomap_cli("translate", unused, "--to", "SNOMED", "--store", corpus_store)
    assert missing.returncode == 3 and "not used" in missing.stderr and not missing.stdout
    usage = ontomap_cli("translate", radlex, "--to", "NOPE", "--store", corpus_store)
    assert usage.returncode == 2


# ------------------------------------------------------------------ $lookup


def test_lookup(served: Served, corpus: Corpus) -> None:
    """name, display, a designation per display authors gave the code, the number of entities
    using it (simple-lookup-1)."""
    top = sorted(corpus.uses, key=lambda k: -len(corpus.uses[k]))[:5]
    some = [k for k in corpus.uses if k[0] == "SNOMED"][:3]
    for version in ("R4", "R5"):
        for system, code in [*top, *some]:
            answer = fhir_json(
                get(
                    served,
                    version,
                    "CodeSystem/$lookup",
                    [("system", URIS[system]), ("code", code)],
                ),
                version=version,
            )
            label = corpus.label((system, code))
            assert values(answer, "display") == ([label] if label else [])
            assert one(answer, "name")
            designations = {part(d, "value") for d in values(answer, "designation")}
            assert designations == set(corpus.displays[(system, code)])
            props = {part(p, "code"): part(p, "value") for p in values(answer, "property")}
            assert props["uses"] == len(corpus.uses[(system, code)])


def test_lookup_properties_and_errors(served: Served, corpus: Corpus) -> None:
    system, code = next(iter(sorted(corpus.uses)))
    answer = fhir_json(
        post(
            served,
            "R5",
            "CodeSystem/$lookup",
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "coding", "valueCoding": {"system": URIS[system], "code": code}},
                    {"name": "property", "valueCode": "contexts"},
                ],
            },
        )
    )
    assert [part(p, "code") for p in values(answer, "property")] == ["contexts"]
    unused = next(f"RID{n}" for n in range(1, 10**6) if ("RADLEX", f"RID{n}") not in corpus.uses)
    outcome = fhir_json(
        get(served, "R4", "CodeSystem/$lookup", [("system", URIS["RADLEX"]), ("code", unused)]),
        404,
        "R4",
    )
    assert outcome["issue"][0]["code"] == "not-found"
    assert tx_types(outcome) == ["invalid-code"]


def test_lookup_oifm_codes(served: Served, corpus: Corpus) -> None:
    attribute, choices = next(iter(sorted(corpus.values.items())))
    answer = fhir_json(
        get(served, "R5", "CodeSystem/$lookup", [("system", OIFM), ("code", attribute)])
    )
    assert one(answer, "display") == corpus.names[attribute]
    props = values(answer, "property")
    assert [part(p, "value") for p in props if part(p, "code") == "child"] == [
        c for c, _n in choices
    ]
    codes = {
        (part(p, "value")["system"], part(p, "value")["code"])
        for p in props
        if part(p, "code") == "indexCode"
    }
    assert codes == {(URIS[s], c) for s, c in corpus.codes[attribute]}
    value_id, value_name = choices[0]
    answer = fhir_json(
        get(served, "R5", "CodeSystem/$lookup", [("system", OIFM), ("code", value_id)])
    )
    assert one(answer, "display") == value_name
    assert [
        part(p, "value") for p in values(answer, "property") if part(p, "code") == "parent"
    ] == [attribute]


# ------------------------------------------------------------------ $validate-code


def test_code_system_validate_code(served: Served, corpus: Corpus) -> None:
    key = sorted(corpus.uses, key=lambda k: -len(corpus.uses[k]))[0]
    system, code = key
    display = corpus.label(key)
    good = fhir_json(
        get(served, "R5", "CodeSystem/$validate-code", [("url", URIS[system]), ("code", code)])
    )  # cs-code-good
    assert one(good, "result") is True and one(good, "display") == display
    assert one(good, "system") == URIS[system] and one(good, "code") == code
    upper = fhir_json(
        get(
            served,
            "R4",
            "CodeSystem/$validate-code",
            [("url", URIS[system]), ("code", code), ("display", display.upper())],
        ),
        version="R4",
    )
    assert one(upper, "result") is True
    bad_display = fhir_json(
        get(
            served,
            "R5",
            "CodeSystem/$validate-code",
            [("url", URIS[system]), ("code", code), ("display", display + " X")],
        )
    )  # simple-code-bad-display
    assert one(bad_display, "result") is False and one(bad_display, "display") == display
    issues = one(bad_display, "issues")
    assert issues["issue"][0]["code"] == "invalid" and tx_types(issues) == ["invalid-display"]
    assert display + " X" in one(bad_display, "message")
    unused = next(f"RID{n}" for n in range(1, 10**6) if ("RADLEX", f"RID{n}") not in corpus.uses)
    bad = fhir_json(
        get(served, "R5", "CodeSystem/$validate-code", [("url", URIS["RADLEX"]), ("code", unused)])
    )  # cs-code-bad-code
    assert one(bad, "result") is False
    assert tx_types(one(bad, "issues")) == ["invalid-code"]
    assert one(bad, "message") == f"Unknown code '{unused}' in the CodeSystem '{URIS['RADLEX']}'"
    unknown = fhir_json(
        post(
            served,
            "R5",
            "CodeSystem/$validate-code",
            {
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "coding",
                        "valueCoding": {"system": "http://example.org/nope", "code": "1"},
                    }
                ],
            },
        )
    )  # simple-coding-bad-system
    assert one(unknown, "result") is False
    assert one(unknown, "x-unknown-system") == "http://example.org/nope"
    assert tx_types(one(unknown, "issues")) == ["not-found"]


def test_value_set_validate_code(served: Served, corpus: Corpus) -> None:
    (a, a_values), (_b, b_values) = sorted(corpus.values.items())[:2]
    url = VALUE_SETS + a
    good = fhir_json(
        get(
            served,
            "R5",
            "ValueSet/$validate-code",
            [("url", url), ("system", OIFM), ("code", a_values[0][0])],
        )
    )  # simple-code-good
    assert one(good, "result") is True and one(good, "display") == a_values[0][1]
    implied = fhir_json(
        get(served, "R4", "ValueSet/$validate-code", [("url", url), ("code", a_values[-1][0])]),
        version="R4",
    )
    assert one(implied, "result") is True
    other = fhir_json(
        get(
            served,
            "R5",
            "ValueSet/$validate-code",
            [("url", url), ("system", OIFM), ("code", b_values[0][0])],
        )
    )  # simple-code-bad-code
    assert one(other, "result") is False and tx_types(one(other, "issues")) == ["not-in-vs"]
    key = next(iter(corpus.uses))
    system_code = fhir_json(
        get(
            served,
            "R5",
            "ValueSet/$validate-code",
            [("url", url), ("system", URIS[key[0]]), ("code", key[1])],
        )
    )
    assert one(system_code, "result") is False
    missing = fhir_json(
        get(
            served,
            "R5",
            "ValueSet/$validate-code",
            [("url", VALUE_SETS + "NOPE"), ("code", "x"), ("system", OIFM)],
        ),
        404,
    )  # simple-code-bad-valueSet
    assert missing["issue"][0]["code"] == "not-found" and tx_types(missing) == ["not-found"]
    all_sct = fhir_json(
        get(
            served,
            "R5",
            "ValueSet/$validate-code",
            [
                ("url", "http://snomed.info/sct?fhir_vs"),
                ("system", URIS["SNOMED"]),
                ("code", next(c for s, c in corpus.uses if s == "SNOMED")),
            ],
        )
    )
    assert one(all_sct, "result") is True


# ------------------------------------------------------------------ $expand


def test_expand_choice_attribute(served: Served, corpus: Corpus) -> None:
    attribute, choices = max(sorted(corpus.values.items()), key=lambda kv: len(kv[1]))
    url = VALUE_SETS + attribute
    for version in ("R4", "R5"):
        whole = fhir_json(get(served, version, "ValueSet/$expand", [("url", url)]), version=version)
        expansion = whole["expansion"]
        assert expansion["total"] == len(choices)
        assert [(c["code"], c["display"]) for c in expansion["contains"]] == choices
        assert {c["system"] for c in expansion["contains"]} == {OIFM}
        for entry in expansion["contains"]:
            codes = corpus.codes[entry["code"]]
            if version == "R5":
                shown = [p["valueCoding"] for p in entry.get("property", ())]
            else:
                shown = [d["use"] for d in entry.get("designation", ())]
            assert {(c["system"], c["code"]) for c in shown} == {(URIS[s], c) for s, c in codes}
        pages = []
        for offset in range(0, len(choices), 2):
            page = fhir_json(
                get(
                    served,
                    version,
                    "ValueSet/$expand",
                    [("url", url), ("count", "2"), ("offset", str(offset))],
                ),
                version=version,
            )["expansion"]
            assert page["total"] == len(choices) and page["offset"] == offset
            pages += [(c["code"], c["display"]) for c in page["contains"]]
        assert pages == choices
    name = choices[-1][1]
    filtered = fhir_json(
        get(served, "R5", "ValueSet/$expand", [("url", url), ("filter", name.upper())])
    )["expansion"]
    assert (choices[-1][0], name) in [(c["code"], c["display"]) for c in filtered["contains"]]
    assert filtered["total"] == sum(name.casefold() in (c + n).casefold() for c, n in choices)


def test_expand_all_codes_of_a_system(served: Served, corpus: Corpus) -> None:
    snomed = sorted(c for s, c in corpus.uses if s == "SNOMED")
    page = fhir_json(
        get(
            served,
            "R5",
            "ValueSet/$expand",
            [("url", "http://snomed.info/sct?fhir_vs"), ("count", "1000")],
        )
    )["expansion"]
    assert page["total"] == len(snomed)
    assert [c["code"] for c in page["contains"]] == snomed
    assert page["contains"][0]["display"] == corpus.label(("SNOMED", snomed[0]))


def test_expand_errors(served: Served) -> None:
    outcome = fhir_json(get(served, "R5", "ValueSet/$expand", [("url", VALUE_SETS + "NOPE")]), 404)
    assert outcome["issue"][0]["code"] == "not-found"
    outcome = fhir_json(
        get(
            served,
            "R5",
            "ValueSet/$expand",
            [("url", "http://snomed.info/sct?fhir_vs"), ("count", "-1")],
        ),
        400,
    )
    assert outcome["issue"][0]["code"] == "invalid"


# ------------------------------------------------------------------ metadata and resources


def test_metadata(served: Served) -> None:
    for version, fhir_version in (("R4", "4.0.1"), ("R5", "5.0.0")):
        statement = fhir_json(get(served, version, "metadata"), version=version)
        assert statement["resourceType"] == "CapabilityStatement"
        assert statement["fhirVersion"] == fhir_version
        operations = {
            (r["type"], o["name"]) for r in statement["rest"][0]["resource"] for o in r["operation"]
        }
        assert operations == {
            ("ConceptMap", "translate"),
            ("CodeSystem", "lookup"),
            ("CodeSystem", "validate-code"),
            ("ValueSet", "validate-code"),
            ("ValueSet", "expand"),
        }
        terminology = fhir_json(
            get(served, version, "metadata", [("mode", "terminology")]), version=version
        )
        assert terminology["resourceType"] == "TerminologyCapabilities"
        assert {c["uri"] for c in terminology["codeSystem"]} >= {OIFM, *URIS.values()}


def test_concept_maps_are_the_mappings_written(served: Served, corpus_store: Path) -> None:
    done = ontomap_cli(
        "mappings",
        "--from",
        "RADLEX",
        "--to",
        "SNOMED",
        "--format",
        "fhir-r5",
        "--store",
        corpus_store,
        "-o",
        "-",
    )
    assert done.returncode == 0, done.stderr
    written = json.loads(done.stdout)
    bundle = fhir_json(get(served, "R5", "ConceptMap", [("url", written["url"])]))
    (entry,) = bundle["entry"]
    assert entry["resource"] == written
    assert written["sourceScopeUri"] == "http://radlex.org?fhir_vs"
    assert written["targetScopeUri"] == "http://snomed.info/sct?fhir_vs"
    read = fhir_json(get(served, "R5", f"ConceptMap/{written['id']}"))
    assert read == written
    r4 = fhir_json(get(served, "R4", f"ConceptMap/{written['id']}"), version="R4")
    assert r4["sourceUri"] == "http://radlex.org?fhir_vs"
    everything = fhir_json(get(served, "R5", "ConceptMap"))
    assert written["url"] in {e["resource"]["url"] for e in everything["entry"]}
    # the scope value sets are served
    scope = fhir_json(get(served, "R5", "ValueSet", [("url", written["sourceScopeUri"])]))
    assert scope["total"] == 1


def test_value_set_and_code_system_resources(served: Served, corpus: Corpus) -> None:
    attribute, choices = next(iter(sorted(corpus.values.items())))
    resource_id = attribute.replace("_", "-")
    read = fhir_json(get(served, "R5", f"ValueSet/{resource_id}"))
    assert read["id"] == resource_id
    assert read["url"] == VALUE_SETS + attribute
    assert [(c["code"], c["display"]) for c in read["compose"]["include"][0]["concept"]] == choices
    searched = fhir_json(
        get(served, "R4", "ValueSet", [("url", VALUE_SETS + attribute)]), version="R4"
    )
    assert searched["total"] == 1
    listing = fhir_json(get(served, "R5", "ValueSet", [("_count", "3")]))
    assert listing["total"] == len(corpus.values) + 6 and len(listing["entry"]) == 3
    expanded = fhir_json(get(served, "R5", f"ValueSet/{resource_id}/$expand"))
    assert expanded["expansion"]["total"] == len(choices)
    sct = fhir_json(get(served, "R5", "CodeSystem/sct"))
    assert sct["url"] == URIS["SNOMED"]
    assert sct["count"] == len({c for s, c in corpus.uses if s == "SNOMED"})
    by_url = fhir_json(get(served, "R5", "CodeSystem", [("url", OIFM)]))
    assert by_url["entry"][0]["resource"]["id"] == "oifm"
    fhir_json(get(served, "R5", "CodeSystem/nope"), 404)


# ------------------------------------------------------------------ HTTP behaviour


def test_errors_are_operation_outcomes(served: Served) -> None:
    base = f"{served.url}fhir/r5/"
    cases = [
        (request(base + "Patient"), 404),
        (request(served.url + "fhir/r3/metadata"), 404),
        (request(base + "metadata", headers={"Accept": "application/fhir+xml"}), 406),
        (request(base + "metadata?_format=xml"), 406),
        (request(base + "ValueSet/x", method="DELETE"), 405),
        (request(base + "ValueSet/$expand", method="PUT", data=b"{}"), 405),
        (
            request(
                base + "CodeSystem/$lookup", data=b"code=1", headers={"Content-Type": "text/plain"}
            ),
            415,
        ),
        (
            request(
                base + "CodeSystem/$lookup",
                data=b"{not json",
                headers={"Content-Type": "application/fhir+json"},
            ),
            400,
        ),
        (
            request(
                base + "CodeSystem/$lookup",
                data=b'{"resourceType": "Patient"}',
                headers={"Content-Type": "application/fhir+json"},
            ),
            400,
        ),
        (request(base + "CodeSystem/$subsumes"), 400),
        (request(base + "metadata", headers={"Host": "evil.example"}), 421),
    ]
    for answer, status in cases:
        outcome = fhir_json(answer, status)
        assert outcome["resourceType"] == "OperationOutcome"
        assert "Traceback" not in answer.text
    ok = request(base + "metadata", headers={"Accept": "application/fhir+xml;q=0.9, */*;q=0.1"})
    assert ok.status == 200
    head = request(base + "metadata", method="HEAD")
    assert head.status == 200 and head.body == b""


def test_sparql_side_unchanged(served: Served) -> None:
    assert request(served.url + "lookup?code=RID5791").media_type == "application/json"
    assert request(served.url + "fhirx").status == 404


# ------------------------------------------------------------------ a FHIR client


def test_fhirpy_client(served: Served, corpus: Corpus) -> None:
    fhirpy = pytest.importorskip("fhirpy")
    client = fhirpy.SyncFHIRClient(served.url + "fhir/r5")
    radlex, snomed = corpus.exclusive_pairs("RADLEX", "SNOMED")[0]
    translated = client.execute(
        "ConceptMap/$translate",
        method="post",
        data={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "sourceCoding", "valueCoding": {"system": URIS["RADLEX"], "code": radlex}},
                {"name": "targetSystem", "valueUri": URIS["SNOMED"]},
            ],
        },
    )
    parse(dict(translated))
    assert [part(m, "concept")["code"] for m in values(translated, "match")] == [snomed]
    looked = client.execute(
        "CodeSystem/$lookup", method="get", params={"system": URIS["SNOMED"], "code": snomed}
    )
    label = corpus.label(("SNOMED", snomed))
    assert values(looked, "display") == ([label] if label else [])
    assert one(looked, "code") == snomed
    checked = client.execute(
        "CodeSystem/$validate-code", method="get", params={"url": URIS["RADLEX"], "code": radlex}
    )
    assert one(checked, "result") is True
    attribute, choices = next(iter(sorted(corpus.values.items())))
    expanded = client.execute(
        "ValueSet/$expand", method="get", params={"url": VALUE_SETS + attribute}
    )
    assert [c["code"] for c in expanded["expansion"]["contains"]] == [c for c, _n in choices]
    found = client.resources("ValueSet").search(url=VALUE_SETS + attribute).fetch()
    assert [r["url"] for r in found] == [VALUE_SETS + attribute]
    concept_map = client.reference("ConceptMap", "ontomap-radlex-to-sct").to_resource()
    assert concept_map["url"] == "https://w3id.org/ontomap/mappings/radlex-to-sct"
    with pytest.raises(fhirpy.base.exceptions.ResourceNotFound):
        client.execute(
            "CodeSystem/$lookup", method="get", params={"system": URIS["RADLEX"], "code": "RID0"}
        )


def test_fhirpy_async_client(served: Served, corpus: Corpus) -> None:
    import asyncio

    fhirpy = pytest.importorskip("fhirpy")
    radlex, snomed = corpus.exclusive_pairs("RADLEX", "SNOMED")[0]

    async def run() -> list[Any]:
        client = fhirpy.AsyncFHIRClient(served.url + "fhir/r4")
        return await asyncio.gather(
            *(
                client.execute(
                    "ConceptMap/$translate",
                    method="get",
                    params={
                        "system": URIS["RADLEX"],
                        "code": radlex,
                        "targetsystem": URIS["SNOMED"],
                    },
                )
                for _ in range(10)
            )
        )

    for answer in asyncio.run(run()):
        parse(dict(answer), "R4")
        (match,) = values(answer, "match")
        assert part(match, "concept")["code"] == snomed
        assert part(match, "equivalence") in ("inexact", "relatedto")
