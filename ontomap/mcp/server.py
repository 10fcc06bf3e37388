"""The MCP server of ``ontomap mcp``: the tools of :class:`~ontomap.mcp.tools.Tools` described
for clients (JSON schemas of their input and structured output, descriptions that state what
the evidence means), and the finding models as resources.

Built on the official MCP Python SDK (``pip install "ontomap[mcp]"``), imported only here.
An error of a tool is an MCP tool error (``isError``) whose text is the one line the command
line prints after ``ontomap: error:``; no traceback reaches a client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired

from ontomap import __version__
from ontomap.errors import MissingDependencyError, OntomapError
from ontomap.mcp.tools import (
    DEFAULT_LIMIT,
    MAX_CODES,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_QUERY_CHARS,
    Tools,
)

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import (
        ResourceError,
        ResourceNotFoundError,
        ToolError,
    )
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
    from pydantic import Field
    from typing_extensions import TypedDict
except ImportError as exc:  # pragma: no cover - depends on the environment
    missing = (exc.name or "mcp").partition(".")[0]
    raise MissingDependencyError(
        f"ontomap mcp needs the MCP Python SDK, and the package {missing} cannot be imported: "
        "pip install 'ontomap[mcp]'"
    ) from None

__all__ = ["INSTRUCTIONS", "RESOURCE_TEMPLATE", "build_server", "one_line_error"]

#: The URI template of the finding-model resources.
RESOURCE_TEMPLATE = "ontomap://findings/{oifm_id}"

EVIDENCE = (
    "Co-indexing is evidence, not equivalence: two codes of different systems listed on the "
    "same finding, attribute or value were chosen by the model's author for the same entity, "
    "which does not make them synonyms. Count independent contexts (distinct authoring places: "
    "the entity kind and its normalised name, and the attribute for a value), not entities: a "
    "context marked template is repeated in 10 findings or more, so its counts are copies of "
    "one authoring decision. status 'paired' means some entity supports the pairing (where an "
    "entity lists several codes of each system, by matching displays); 'co-listed' means the "
    "codes only share entities that list several codes of each system without matching "
    "displays: no mapping. predicate is skos:closeMatch or skos:relatedMatch, never "
    "skos:exactMatch."
)

INSTRUCTIONS = (
    "ontomap answers from a knowledge graph of radiology finding models (OIFM) and the codes "
    "they are indexed with (RadLex, SNOMED CT, LOINC, GAMUTS, RadElement, ICD-10-CM). "
    + EVIDENCE
    + " A loaded terminology release is the authority for a code's status, replacement and "
    "preferred term; labels from the corpus are the authors' words. Codes are written as a "
    "CURIE (RADLEX:RID5791, sct:263768009), 'SYSTEM code', a FHIR system|code, a concept IRI or "
    "a bare code whose pattern names one system (RID5791). Every list is paged: limit "
    f"(default {DEFAULT_LIMIT}, at most {MAX_LIMIT}) and offset; each answer has a page block "
    "with total, has_more and next_offset."
)

# ------------------------------------------------------------------ argument types

Limit = Annotated[
    int,
    Field(
        description=f"How many items to return (0 to {MAX_LIMIT}).",
        json_schema_extra={"minimum": 0, "maximum": MAX_LIMIT},
    ),
]
Offset = Annotated[
    int,
    Field(
        description="The first item to return (0-based; a page's next_offset).",
        json_schema_extra={"minimum": 0, "maximum": MAX_OFFSET},
    ),
]
Code = Annotated[
    str,
    Field(
        description="A code: RADLEX:RID5791, sct:263768009, 'SNOMED 263768009', "
        "http://snomed.info/sct|263768009, http://radlex.org/RID/RID5791 or RID5791.",
        json_schema_extra={"maxLength": 2000},
    ),
]
System = Annotated[
    str,
    Field(description="A code system: RADLEX, SNOMED (SNOMEDCT), LOINC, GAMUTS, RADELEMENT..."),
]

# ------------------------------------------------------------------ output types


class Page(TypedDict):
    """Where a page of a list starts and whether more follows."""

    total: int
    offset: int
    limit: int
    returned: int
    has_more: bool
    next_offset: int | None


class CodeBrief(TypedDict):
    system: str
    code: str
    curie: str
    labels: list[str]


class LookupCode(TypedDict):
    system: str
    code: str
    curie: str
    iri: str
    labels: list[str]
    index_uses: int
    contexts: int


class UseItem(TypedDict):
    finding: str
    finding_label: str | None
    kind: str
    entity: str
    label: str | None
    code: NotRequired[str]


class UsedBy(TypedDict):
    uses: int
    findings: int
    kinds: dict[str, int]
    offset: int
    limit: int | None
    items: list[UseItem]


class LookupAnswer(TypedDict):
    """The lookup JSON (version 2) of ``ontomap lookup --format json``, with a page block."""

    version: int
    crosswalk_rules: int
    code: LookupCode
    to: str | None
    matches: list[dict[str, Any]]
    used_by: UsedBy
    releases: NotRequired[list[dict[str, Any]]]
    descendants: NotRequired[dict[str, Any]]
    page: Page


class WhereUsedAnswer(TypedDict):
    code: CodeBrief
    uses: int
    findings: int
    kinds: dict[str, int]
    kind: str | None
    items: list[UseItem]
    page: Page


class TranslateAnswer(TypedDict):
    result: bool
    message: str
    source: CodeBrief
    target_system: str
    fhir_system: str | None
    paired: int
    colisted: int
    matches: list[dict[str, Any]]
    page: Page


class CodeCheck(TypedDict):
    input: str
    valid: bool
    recognized: bool
    problems: list[str]
    system: NotRequired[str]
    code: NotRequired[str]
    curie: NotRequired[str]
    iri: NotRequired[str]
    syntax_ok: NotRequired[bool]
    in_corpus: NotRequired[dict[str, Any]]
    releases: NotRequired[list[dict[str, Any]]]
    releases_note: NotRequired[str]
    preferred_term: NotRequired[str | None]


class ValidateAnswer(TypedDict):
    codes: list[CodeCheck]
    valid: int
    checked: int


class FindingHit(TypedDict):
    oifm_id: str
    name: str
    synonyms: list[str]
    tags: list[str]
    score: float
    matched: str


class SearchAnswer(TypedDict):
    query: str
    tags: list[str]
    items: list[FindingHit]
    page: Page
    code: NotRequired[str]
    code_note: NotRequired[str]


class FindingAnswer(TypedDict):
    oifm_id: str
    name: str
    format: str
    source_file: str | None
    source_format: str | None
    model: NotRequired[dict[str, Any]]
    text: NotRequired[str]


class SelectAnswer(TypedDict):
    vars: list[str]
    bindings: list[dict[str, Any]]
    max_rows: int
    truncated: bool
    page: Page
    note: NotRequired[str]


class MappingCounts(TypedDict):
    mappings: int
    colisted_left_out: int
    below_threshold: int
    outliers_left_out: int
    by_predicate: dict[str, int]


class MappingSetAnswer(TypedDict):
    id: str
    title: str
    source_system: str
    target_system: str
    min_support: int
    min_share: float
    outliers: str
    counts: MappingCounts
    mappings: list[dict[str, Any]]
    page: Page


# ------------------------------------------------------------------ the server

_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text and "^" not in text else text.rstrip()


def _answer(call: Callable[[], Any]) -> Any:
    """``call()``, its failures turned into tool errors with the command line's message."""
    try:
        return call()
    except ToolError:
        raise
    except OntomapError as exc:
        raise ToolError(str(exc).rstrip()) from None
    except ValueError as exc:  # the library's argument checks (mapping thresholds...)
        raise ToolError(_one_line(str(exc))) from None
    except MemoryError:
        raise ToolError("the answer needs more memory than this server has") from None
    except Exception as exc:  # a defect: one line for the client, never a traceback
        logging.getLogger("ontomap.mcp").debug("tool failed", exc_info=True)
        raise ToolError(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}") from None


_PREFIX = re.compile(r"^Error executing tool [\w.-]+: ")
#: One error of a pydantic validation message: the argument's name, then its indented message.
_VALIDATION = re.compile(
    r"^(?P<loc>\S[^\n]*)\n  (?P<msg>[^\n]*?)(?: \[type=(?P<type>[^,\]]*)"
    r"(?:, input_value=(?P<value>[^\n]*?))?(?:, input_type=[^\]]*)?\])?$",
    re.MULTILINE,
)


def one_line_error(text: str) -> str:
    """A tool error's text as the command line says it: without the SDK's ``Error executing
    tool NAME:`` prefix, and an argument that fails the input schema in one line per
    argument (``bad limit 'ten': Input should be a valid integer...``)."""
    text = _PREFIX.sub("", text, count=1)
    if re.match(r"^\d+ validation errors? for ", text):
        parts = []
        for found in _VALIDATION.finditer(text.partition("\n")[2]):
            value = found.group("value")
            missing = found.group("type") == "missing"
            shown = f" {value}" if value is not None and len(value) <= 60 and not missing else ""
            parts.append(f"bad {found.group('loc')}{shown}: {found.group('msg')}")
        if parts:
            return "; ".join(parts)
    return text


class _OneLineErrors:
    """Middleware that gives every tool error the one-line text of :func:`one_line_error`."""

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        result = await call_next(ctx)
        if ctx.method != "tools/call":
            return result
        if isinstance(result, CallToolResult) and result.is_error:
            for block in result.content:
                if isinstance(block, TextContent):
                    block.text = one_line_error(block.text)
        elif isinstance(result, dict) and (result.get("isError") or result.get("is_error")):
            for item in result.get("content") or ():
                if isinstance(item, dict) and isinstance(item.get("text"), str):
                    item["text"] = one_line_error(item["text"])
        return result


def build_server(tools: Tools, name: str = "ontomap") -> MCPServer:
    """An MCP server whose tools and resources answer from ``tools``."""
    server: MCPServer = MCPServer(
        name,
        title="ontomap: radiology terminology crosswalk",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
        middleware=[_OneLineErrors()],
    )

    @server.tool(
        title="Look up a code in the crosswalk",
        annotations=_READ_ONLY,
        description=(
            "Look a radiology code up: its labels in the corpus, the codes of other systems "
            "listed on the same findings, attributes and values (matches) with the crosswalk's "
            "evidence for each, what loaded terminology releases say of it, and one page of "
            "its uses (used_by.items; page gives the total). "
            + EVIDENCE
            + " Each match has: status; entities and findings listing both codes; "
            "independent_contexts supporting the pairing; contexts (kind, name, attribute, "
            "entities, findings, template, paired); share (supporting contexts / contexts of "
            "this code's uses); cardinality (1:1, 1:n, n:1, n:m); flag 'outlier'; predicate; "
            "confidence; lexical_score of the displays. to keeps the matches of one system; "
            "descendants also looks up the codes under this one in the latest loaded release "
            "(needs a release of its system). The answer is the JSON of 'ontomap lookup "
            "--format json' (version 2)."
        ),
    )
    def lookup_code(
        code: Code,
        to: Annotated[System | None, Field(description="Only matches in this code system.")] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
        descendants: Annotated[
            bool, Field(description="Also the codes under this one in a loaded release.")
        ] = False,
    ) -> LookupAnswer:
        return _answer(lambda: tools.lookup_code(code, to, offset, limit, descendants))

    @server.tool(
        title="Where is a code used",
        annotations=_READ_ONLY,
        description=(
            "The entities that use a code, by finding: findings (index code), anatomic "
            "locations (kind location), attributes and choice values, each with its finding's "
            "OIFM ID and name. kind keeps one kind of use. uses and findings are the totals "
            "over every kind; page.total counts the uses listed (of that kind). Uses in "
            "template contexts (the same value copied into many models) are listed one by "
            "one: many uses need not mean many independent decisions."
        ),
    )
    def where_used(
        code: Code,
        kind: Annotated[
            Literal["finding", "location", "attribute", "value"] | None,
            Field(description="Only uses of this kind."),
        ] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> WhereUsedAnswer:
        return _answer(lambda: tools.where_used(code, kind, offset, limit))

    @server.tool(
        title="Translate a code to another code system",
        annotations=_READ_ONLY,
        description=(
            "The codes of target_system that the crosswalk links to a code, as FHIR "
            "ConceptMap $translate answers: result is true when at least one is paired. Each "
            "match carries relationship (FHIR R5: related-to) and equivalence (FHIR R4: "
            "inexact for skos:closeMatch, relatedto for skos:relatedMatch), never equivalent: "
            "the link is derived from co-indexing. "
            + EVIDENCE
            + " Prefer matches with more independent contexts, no template, no outlier flag "
            "and a higher confidence. Co-listed codes are left out unless include_colisted."
        ),
    )
    def translate(
        code: Code,
        target_system: System,
        include_colisted: Annotated[
            bool, Field(description="Also codes only co-listed with this one (no mapping).")
        ] = False,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> TranslateAnswer:
        return _answer(
            lambda: tools.translate(code, target_system, include_colisted, offset, limit)
        )

    @server.tool(
        title="Check codes",
        annotations=_READ_ONLY,
        description=(
            f"Check up to {MAX_CODES} codes: whether each is written in an accepted form and "
            "names a known system; its system's syntax (pattern, check digit: Verhoeff for "
            "SNOMED CT, mod 10 for LOINC; SNOMED CT partition); whether the corpus uses it "
            "(index uses, labels); and, for each loaded terminology release of its system, "
            "its status (active, inactive...), replacements and preferred term. valid is "
            "false when any check fails; problems says which, in the command line's words. "
            "Without a loaded release, existence and status are not checked (releases_note "
            "says so)."
        ),
    )
    def validate_codes(
        codes: Annotated[
            list[str],
            Field(
                description=f"The codes to check (1 to {MAX_CODES}).",
                json_schema_extra={"minItems": 1, "maxItems": MAX_CODES},
            ),
        ],
    ) -> ValidateAnswer:
        return _answer(lambda: tools.validate_codes(codes))

    @server.tool(
        title="Search finding models",
        annotations=_READ_ONLY,
        description=(
            "Find finding models by name, synonyms, tags or code. A model matches when its "
            "name, synonyms and tags hold every word of query (case and punctuation ignored), "
            "or when it uses the code query names (on the finding, its anatomic location, an "
            "attribute or a value). Ranked: exact name 1.0, exact synonym 0.95, the code on "
            "the finding 0.9, name starting with the query 0.85, the phrase in the name 0.8 "
            "or a synonym 0.75, all words in the name 0.7, the code on an attribute or value "
            "0.65, all words in name and synonyms 0.6, an exact tag 0.5, words spread over "
            "name, synonyms and tags 0.4; ties by name. tags keeps models with every tag "
            "given. Read a model with get_finding."
        ),
    )
    def search_findings(
        query: Annotated[str, Field(description="Words of a finding's name, or a code.")],
        tags: Annotated[
            list[str] | None, Field(description="Only models with all these tags (e.g. CT).")
        ] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> SearchAnswer:
        return _answer(lambda: tools.search_findings(query, tags, offset, limit))

    @server.tool(
        title="Read one finding model",
        annotations=_READ_ONLY,
        description=(
            "One finding model by OIFM ID (e.g. OIFM_GMTS_004244). format json: the model in "
            "the OIFM JSON shape (*.fm.json members: oifm_id, name, description, synonyms, "
            "tags, contributors, attributes with their values, index_codes, "
            "anatomic_locations) as the knowledge graph holds it, where synonyms, tags and "
            "index codes are sets (sorted). format source: the text of the file the model "
            "was built from (OIFM JSON or its Markdown rendering), from a local store whose "
            "source files are still in place. The same JSON is the resource "
            "ontomap://findings/{oifm_id}."
        ),
    )
    def get_finding(
        oifm_id: Annotated[str, Field(description="The model's OIFM ID, e.g. OIFM_GMTS_004244.")],
        format: Annotated[
            Literal["json", "source"], Field(description="json (default) or source.")
        ] = "json",
    ) -> FindingAnswer:
        return _answer(lambda: tools.get_finding(oifm_id, format))

    @server.tool(
        title="Run a read-only SPARQL SELECT",
        annotations=_READ_ONLY,
        description=(
            "Run a SPARQL 1.1 SELECT query on the knowledge graph, checked as 'ontomap serve' "
            "checks every query: no SERVICE (federated) pattern, no update, nesting at most "
            "1000 levels, readable by a SPARQL 1.1 parser. It runs with a timeout (its "
            "process is stopped after it) and a row cap (max_rows solutions are computed; "
            "truncated says when there were more); bindings is one page of the solutions in "
            "the W3C SPARQL JSON results form. The default graph is the union of the graphs "
            "(one per model, _codes, _meta, the crosswalk); the prefixes oifm, rdfs, skos, "
            "dcterms, fm, radlex, sct, loinc, gamuts, radelement, icd10cm are declared. "
            "Paging re-runs the query: use ORDER BY for stable pages."
        ),
    )
    def sparql_select(
        query: Annotated[
            str,
            Field(
                description="A SPARQL SELECT query.",
                json_schema_extra={"maxLength": MAX_QUERY_CHARS},
            ),
        ],
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> SelectAnswer:
        return _answer(lambda: tools.sparql_select(query, offset, limit))

    @server.tool(
        title="Mappings between two code systems",
        annotations=_READ_ONLY,
        description=(
            "The mapping set from source_system to target_system, as 'ontomap mappings' "
            "writes it (SSSOM, FHIR ConceptMap, SKOS), a page at a time: paired code pairs "
            "only (co-listed ones are counted and left out), each with its predicate "
            "(skos:closeMatch or skos:relatedMatch), justification, cardinality among the "
            "set's rows and in the corpus, confidence, independent contexts, entities, "
            "findings, template flag, shares and lexical score. "
            + EVIDENCE
            + " min_support keeps pairs supported by at least that many independent "
            "contexts; min_share those whose share of the source code's contexts is at least "
            "that; outliers exclude (default) or mark."
        ),
    )
    def mapping_set(
        source_system: System,
        target_system: System,
        min_support: Annotated[
            int,
            Field(
                description="Fewest independent contexts.",
                json_schema_extra={"minimum": 1},
            ),
        ] = 1,
        min_share: Annotated[
            float,
            Field(
                description="Smallest share (0 to 1).",
                json_schema_extra={"minimum": 0, "maximum": 1},
            ),
        ] = 0.0,
        outliers: Annotated[
            Literal["exclude", "mark"], Field(description="Drop outliers or keep them marked.")
        ] = "exclude",
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> MappingSetAnswer:
        return _answer(
            lambda: tools.mapping_set(
                source_system, target_system, min_support, min_share, outliers, offset, limit
            )
        )

    @server.resource(
        RESOURCE_TEMPLATE,
        name="finding-model",
        title="Finding model",
        description="A finding model by OIFM ID, in the OIFM JSON shape as the knowledge "
        "graph holds it (the JSON of get_finding).",
        mime_type="application/json",
    )
    def finding_model(oifm_id: str) -> str:
        try:
            return _answer(lambda: tools.finding_resource(oifm_id))
        except ToolError as exc:
            message = str(exc)
            if "is not in the store" in message or "is not an OIFM ID" in message:
                raise ResourceNotFoundError(message) from None
            raise ResourceError(message) from None

    return server
