"""``ontomap.query.safety``: the nesting limit and the SPARQL-grammar safety check.

Every query ontomap ships or documents passes; every spelling of a federated query (SERVICE),
every update and every unreadable text is refused; every deep construct that crashes
Oxigraph is refused well before it would, and the deepest one accepted runs without a crash
(in a subprocess). ``ontomap query`` refuses over-deep queries with exit code 2, locally and
with ``--endpoint``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES
from servers import ENV, ROOT, ontomap_cli

from ontomap.backends import bind_values
from ontomap.query import QueryError, UpdateRefusedError, named_queries, prefixes, safety
from ontomap.query.safety import (
    MAX_NESTING,
    QueryRefusedError,
    QueryTooDeepError,
    ServiceRefusedError,
    check_nesting,
    check_safe,
    nesting,
)


def service_variants(iri: str) -> dict[str, str]:
    """Federated queries calling ``iri`` (``http://HOST:PORT/PATH``), written in every way
    that tricked a scan of words, or might trick a parser: spacing, comments, case, brackets
    glued to the keyword, codepoint escapes, prefixed names, relative IRIs, a variable, and
    inside every kind of group."""
    base, _, local = iri.rpartition("/")
    escaped = "\\u0053ERVICE"
    return {
        "plain": f"SELECT * WHERE {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}",
        "after-bracket": f"SELECT ?s WHERE {{ [ ?q ?o]SERVICE <{iri}> {{ ?s ?p ?x }} }}",
        "after-brace": f"SELECT * WHERE {{ {{ ?a ?b ?c }}SERVICE <{iri}> {{ ?s ?p ?o }} }}",
        "after-dot": f"SELECT * WHERE {{ ?a ?b ?c.SERVICE <{iri}> {{ ?s ?p ?o }} }}",
        "glued-iri": f"SELECT * WHERE {{SERVICE<{iri}>{{?s ?p ?o}}}}",
        "mixed-case": f"SELECT * WHERE {{ sErViCe <{iri}> {{ ?s ?p ?o }} }}",
        "lower-case": f"select * where {{ service <{iri}> {{ ?s ?p ?o }} }}",
        "silent": f"SELECT * WHERE {{ SERVICE SILENT <{iri}> {{ ?s ?p ?o }} }}",
        "comments": f"SELECT * WHERE {{ ?a ?b ?c #x\nSERVICE #y\n<{iri}> #z\n{{ ?s ?p ?o }} }}",
        "comment-brace": f"SELECT * WHERE {{#}}\nSERVICE<{iri}>{{?s ?p ?o}}}}",
        "tabs-newlines": f"SELECT * WHERE {{\n\tSERVICE\r\n\t<{iri}>\n{{ ?s ?p ?o }}\n}}",
        "carriage-return-comment": f"SELECT * WHERE {{ ?a ?b ?c # x\rSERVICE <{iri}> {{ }} }}",
        "variable": f"SELECT * WHERE {{ VALUES ?x {{ <{iri}> }} SERVICE ?x {{ ?s ?p ?o }} }}",
        "bound-variable": f"SELECT * WHERE {{ BIND(<{iri}> AS ?x) SERVICE ?x {{ ?s ?p ?o }} }}",
        "optional": f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE <{iri}> {{ ?s ?p ?o }} }} }}",
        "union": f"SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ SERVICE <{iri}> {{ ?s ?p ?o }} }} }}",
        "minus": f"SELECT * WHERE {{ ?a ?b ?c MINUS {{ SERVICE <{iri}> {{ ?a ?b ?c }} }} }}",
        "exists": f"SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{ SERVICE <{iri}> {{ }} }} }}",
        "not-exists": f"ASK {{ FILTER(NOT EXISTS {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}) }}",
        "subquery": f"SELECT * {{ {{ SELECT ?s {{ SERVICE <{iri}> {{ ?s ?p ?o }} }} LIMIT 1 }} }}",
        "graph": f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{iri}> {{ ?s ?p ?o }} }} }}",
        "nested": f"SELECT * WHERE {{ SERVICE <{iri}> {{ SERVICE <{iri}> {{ ?s ?p ?o }} }} }}",
        "prefixed-name": f"PREFIX r: <{base}/> SELECT * WHERE {{ SERVICE r:{local} {{ }} }}",
        "base-relative": f"BASE <{base}/> SELECT * WHERE {{ SERVICE <{local}> {{ ?s ?p ?o }} }}",
        "codepoint-escape": f"SELECT * WHERE {{ {escaped} <{iri}> {{ ?s ?p ?o }} }}",
        "long-escape": f"SELECT * WHERE {{ SERVIC\\U00000045 <{iri}> {{ ?s ?p ?o }} }}",
        "escape-in-iri": f"SELECT * {{ SERVICE <{base}/\\u{ord(local[0]):04x}{local[1:]}> {{ }} }}",
        "escaped-quote": f'SELECT * WHERE {{ BIND("\\u0022" AS ?a) SERVICE <{iri}> {{ }} }}',
        "ask": f"ASK {{ SERVICE <{iri}> {{ }} }}",
        "construct": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}",
        "describe": f"DESCRIBE ?s WHERE {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}",
        "known-prefixes": f"SELECT * {{ ?f a oifm:FindingModel SERVICE <{iri}> {{ ?f ?p ?o }} }}",
        "trailing-values": f"SELECT * {{ SERVICE <{iri}> {{ ?s ?p ?o }} }} VALUES ?s {{ <urn:x> }}",
    }


VARIANTS = service_variants("http://127.0.0.1:9/sparql")

#: Queries that must pass: the word SERVICE where it is no keyword, and known prefixes used
#: without PREFIX lines (the server declares them).
HARMLESS = [
    'SELECT ?service WHERE { ?service rdfs:label "SERVICE <http://127.0.0.1:9/> { }" }',
    "SELECT * WHERE { <urn:SERVICE> <urn:x:service> ?o } # SERVICE <http://127.0.0.1:9/> {}",
    "PREFIX service: <urn:s:> SELECT * WHERE { service:SERVICE service:service ?o }",
    "SELECT ?f WHERE { ?f a oifm:FindingModel ; rdfs:label ?name FILTER(CONTAINS(?name, 'a')) }",
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s skos:notation ?code } } GROUP BY ?g",
    "CONSTRUCT WHERE { ?s rdfs:label ?o }",
    "DESCRIBE <urn:x>",
    "ASK {}",
    'SELECT * WHERE { ?s rdfs:label "caf\\u00e9" . ?s ?p <urn:\\u0041> }',
    "SELECT * FROM <urn:g> FROM NAMED <urn:h> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT * WHERE { ?s (rdfs:subClassOf|^skos:broader)+/rdfs:label ?o FILTER(?o < 'b') }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o IN (1, 2, 3) && !BOUND(?x) || REGEX(STR(?o), '^a')) }",
]


#: A query quoted in documentation: a query form, a group, up to the closing quote.
_QUOTED_QUERY = re.compile(
    r"(?P<q>['\"`])(?P<text>(?:SELECT|ASK|CONSTRUCT|DESCRIBE)\b(?:(?!(?P=q)).)*?\{"
    r"(?:(?!(?P=q)).)*\}(?:(?!(?P=q)).)*)(?P=q)",
    re.DOTALL,
)


def _documented_queries() -> set[str]:
    """The queries quoted in the README, docs/*.md and the commands' --help."""
    texts = [(ROOT / "README.md").read_text(encoding="utf-8")]
    texts += [path.read_text(encoding="utf-8") for path in sorted((ROOT / "docs").glob("*.md"))]
    texts += [ontomap_cli(command, "--help").stdout for command in ("query", "serve", "lookup")]
    return {match.group("text") for text in texts for match in _QUOTED_QUERY.finditer(text)}


def _test_queries() -> list[str]:
    """The SPARQL in the server tests (module-level constants)."""
    import test_server

    return [
        value
        for name, value in vars(test_server).items()
        if name.isupper() and isinstance(value, str) and "{" in value
    ]


# ------------------------------------------------------------------ what passes


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_every_named_query_passes_as_written_and_as_sent_to_an_endpoint(name: str) -> None:
    query = named_queries()[name]
    check_safe(query.text)
    bindings = {p.name: p.term(p.default or _example_value(p.type)) for p in query.params}
    prologue = " ".join(f"PREFIX {k}: <{v}>" for k, v in prefixes().items())
    check_safe(f"{prologue}\n{bind_values(query.text, bindings)}")


def _example_value(kind: str) -> str:
    return {"code": "RADLEX:RID5791", "system": "SNOMED"}.get(kind, "chest")


@pytest.mark.parametrize("query", HARMLESS)
def test_harmless_queries_pass(query: str) -> None:
    check_safe(query)


def test_the_queries_of_the_docs_and_help_pass() -> None:
    queries = _documented_queries()
    assert len(queries) >= 4
    for query in queries:
        check_safe(query)


def test_the_queries_of_the_tests_pass() -> None:
    queries = _test_queries()
    assert len(queries) >= 3
    for query in queries:
        check_safe(query)


# ------------------------------------------------------------------ what is refused


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_spelling_of_service_is_refused(name: str) -> None:
    with pytest.raises(QueryRefusedError) as caught:
        check_safe(VARIANTS[name])
    assert isinstance(caught.value, QueryError)
    if name not in ("escaped-quote", "carriage-return-comment"):
        assert isinstance(caught.value, ServiceRefusedError), str(caught.value)
        assert "SERVICE" in str(caught.value)


def test_there_are_enough_variants() -> None:
    assert len(VARIANTS) >= 30


def test_a_service_refusal_names_the_service() -> None:
    with pytest.raises(ServiceRefusedError) as caught:
        check_safe(VARIANTS["variable"])
    assert caught.value.service == "?x"
    assert "federated query" in str(caught.value)


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "# a comment\nPREFIX x: <urn:x:> DELETE WHERE { ?s x:p ?o }",
        "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "CLEAR ALL ; DROP SILENT GRAPH <urn:g>",
        "\\u0049NSERT DATA { <urn:a> <urn:b> <urn:c> }",
    ],
)
def test_updates_are_refused(update: str) -> None:
    with pytest.raises(UpdateRefusedError):
        check_safe(update)


def test_what_the_parser_cannot_read_is_refused_with_a_place() -> None:
    with pytest.raises(QueryRefusedError) as caught:
        check_safe("SELECT ?x\nWHERE { ?x ?y }")
    error = caught.value
    assert (error.line, error.column) == (2, 9)
    assert "SPARQL syntax error" in str(error) and "   2 | WHERE { ?x ?y }" in str(error)
    with pytest.raises(QueryRefusedError):
        check_safe("SELECT * WHERE { << ?s ?p ?o >> ?q ?r }")  # beyond SPARQL 1.1
    with pytest.raises(QueryRefusedError):
        check_safe("")


def test_long_runs_of_spaces_keep_lines_and_columns_true() -> None:
    text = "SELECT *" + " " * 500 + "WHERE {\n" + "\n" * 300 + " " * 70 + "?x ?y }"
    with pytest.raises(QueryRefusedError) as caught:
        check_safe(text)
    assert (caught.value.line, caught.value.column) == (302, 71)


@pytest.mark.parametrize("escape", ["\\u0022", "\\u005C", "\\u003E", "\\u000A", "\\U00000027"])
def test_codepoint_escapes_of_syntax_characters_are_refused(escape: str) -> None:
    with pytest.raises(QueryRefusedError, match="codepoint escape"):
        check_safe(f'SELECT * WHERE {{ ?s ?p "a{escape}b" }}')


def test_a_recursion_error_of_the_parser_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "_RECURSION_LIMIT", 3000)
    if sys.getrecursionlimit() > 3000:
        pytest.skip("the interpreter's recursion limit is already higher")
    triples = "ASK {" + " ?s <urn:p> ?o ." * 1000 + " }"
    with pytest.raises(QueryRefusedError, match="too long or too deeply nested"):
        check_safe(triples)
    assert sys.getrecursionlimit() <= 3000  # put back


# ------------------------------------------------------------------ nesting

#: Deep constructs, each as a function of its depth n.
DEEP: dict[str, Callable[[int], str]] = {
    "parentheses": lambda n: "ASK { FILTER(" + "(" * n + "1" + ")" * n + ") }",
    "groups": lambda n: "ASK " + "{ " * n + "}" * n,
    "subqueries": lambda n: "ASK {" + " { SELECT * WHERE {" * n + "}}" * n + " }",
    "or-chain": lambda n: "ASK { FILTER(" + " || ".join(["true"] * n) + ") }",
    "and-chain": lambda n: "ASK { FILTER(" + " && ".join(["true"] * n) + ") }",
    "plus-chain": lambda n: "ASK { FILTER(" + " + ".join(["1"] * n) + " > 0) }",
    "times-chain": lambda n: "ASK { FILTER(" + " * ".join(["1"] * n) + " > 0) }",
    "not-chain": lambda n: "ASK { FILTER(" + "!" * n + "true) }",
    "negations": lambda n: "ASK { FILTER(" + "(-" * n + "1" + ")" * n + " < 0) }",
    "path-parentheses": lambda n: "ASK { ?s " + "(" * n + "<urn:p>" + ")" * n + " ?o }",
    "path-modifiers": lambda n: "ASK { ?s " + "(" * n + "<urn:p>" + ")*" * n + " ?o }",
    "path-alternatives": lambda n: "ASK { ?s " + "|".join(["<urn:p>"] * n) + " ?o }",
    "unions": lambda n: "ASK { " + " UNION ".join(["{}"] * n) + " }",
    "nested-unions": lambda n: "ASK { " + "{ {} UNION " * n + "{}" + " }" * n + " }",
    "optionals": lambda n: "ASK { " + " OPTIONAL {}" * n + " }",
    "nested-optionals": lambda n: "ASK { " + "OPTIONAL { " * n + "}" * n + " }",
    "nested-graphs": lambda n: "ASK { " + "GRAPH ?g { " * n + "}" * n + " }",
    "filters": lambda n: "ASK { " + " FILTER(true)" * n + " }",
    "binds": lambda n: "ASK { " + " ".join(f"BIND(1 AS ?v{i})" for i in range(n)) + " }",
    "concat-calls": lambda n: "ASK { FILTER(CONCAT(" + "CONCAT(" * n + "'a'" + ")" * n + ")) }",
    "str-calls": lambda n: "ASK { FILTER(" + "STR(" * n + "'a'" + ")" * n + " = 'a') }",
    "if-calls": lambda n: "ASK { FILTER(" + "IF(true, " * n + "true" + ", false)" * n + ") }",
    "coalesce-calls": lambda n: "ASK { FILTER(" + "COALESCE(" * n + "true" + ")" * n + ") }",
    "custom-calls": lambda n: "ASK { FILTER(" + "<urn:f>(" * n + "true" + ")" * n + ") }",
    "exists": lambda n: "ASK { FILTER(" + "EXISTS { FILTER(" * n + "true" + ") }" * n + ") }",
    "not-exists": lambda n: (
        "ASK { FILTER(" + "NOT EXISTS { FILTER(" * n + "true" + ") }" * n + ") }"
    ),
    "blank-nodes": lambda n: "ASK { " + "[ <urn:p> " * n + "1" + " ]" * n + " }",
    "collections": lambda n: "ASK { ?s <urn:p> " + "(" * n + "1" + ")" * n + " }",
}

#: The depth n at which each construct overflowed the 8 MiB stack of Oxigraph's process
#: (pyoxigraph 0.5, measured by bisection in subprocesses; the same in a thread).
CRASH_DEPTHS = {
    "parentheses": 4650,
    "groups": 2180,
    "subqueries": 1180,
    "or-chain": 9300,
    "and-chain": 9300,
    "plus-chain": 6900,
    "times-chain": 6900,
    "not-chain": 9300,
    "negations": 4650,
    "path-parentheses": 13800,
    "path-modifiers": 13700,
    "path-alternatives": 10700,
    "unions": 6500,
    "nested-unions": 2180,
    "optionals": 6500,
    "nested-optionals": 2880,
    "nested-graphs": 2880,
    "filters": 9300,
    "binds": 2600,
    "concat-calls": 915,
    "str-calls": 955,
    "if-calls": 955,
    "coalesce-calls": 915,
    "custom-calls": 4340,
    "exists": 700,
    "not-exists": 700,
}
#: Constructs whose planning time grows with the cube of n (0.2 s at 80, 12 s at 320): they
#: are bounded by the nesting limit like the others, but too slow to run at it here.
SLOW = frozenset({"blank-nodes", "collections"})


def _deepest_accepted(build: Callable[[int], str]) -> int:
    low, high = 1, 20_000
    while high - low > 1:
        middle = (low + high) // 2
        if nesting(build(middle)).depth <= MAX_NESTING:
            low = middle
        else:
            high = middle
    return low


@pytest.mark.parametrize("name", sorted(CRASH_DEPTHS))
def test_deep_constructs_are_refused_well_before_oxigraph_crashes(name: str) -> None:
    crash = CRASH_DEPTHS[name]
    with pytest.raises(QueryTooDeepError):
        check_nesting(DEEP[name](crash))
    assert _deepest_accepted(DEEP[name]) * 4 <= crash  # a margin of 4 at least


def test_the_deepest_accepted_queries_run_without_a_crash() -> None:
    queries = {
        name: build(_deepest_accepted(build)) for name, build in DEEP.items() if name not in SLOW
    }
    for query in queries.values():
        check_nesting(query)
    program = (
        "import json, sys, threading, pyoxigraph as ox\n"
        "queries = json.load(sys.stdin)\n"
        "def run():\n"
        "    for name, query in queries.items():\n"
        "        print(name, flush=True)\n"
        "        try:\n"
        "            answer = ox.Store().query(query)\n"
        "            bool(answer) if isinstance(answer, ox.QueryBoolean) else list(answer)\n"
        "        except (OSError, RuntimeError, SyntaxError, ValueError):\n"
        "            pass  # an error is an answer; only a crash is not\n"
        "run()\n"
        "thread = threading.Thread(target=run)\n"
        "thread.start(); thread.join()\n"
        "print('done', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    last = done.stdout.split()[-1:] or ["(none)"]
    assert done.returncode == 0, f"exit {done.returncode} on {last[0]}: {done.stderr[-500:]}"
    assert last == ["done"]


def test_named_queries_are_far_from_the_limit() -> None:
    for query in named_queries().values():
        assert nesting(query.text).depth < 50, query.name


def test_strings_iris_comments_and_escaped_names_do_not_count() -> None:
    many = "(" * 3000
    assert nesting(f'ASK {{ FILTER(STR(?x) = "{many}") }}').depth < 20
    assert nesting(f"ASK {{ ?s ?p '''{many}\n{many}''' }}").depth < 20
    assert nesting(f"ASK {{ ?s <urn:{many}> ?o }}").depth < 20
    assert nesting(f"ASK {{ ?s ?p ?o # {many}\n }}").depth < 20
    assert nesting("ASK { ?s ex:a" + "\\(" * 3000 + " ?o }").depth < 20


def test_a_less_than_in_an_expression_is_not_taken_for_an_iri() -> None:
    deep = "(" * 1500 + "2" + ")" * 1500
    with pytest.raises(QueryTooDeepError):
        check_nesting(f"ASK {{ FILTER(1<{deep}>0) }}")
    with pytest.raises(QueryTooDeepError):
        check_nesting("ASK { FILTER(?a<?b" + "&&?b" * 1500 + ">?c) }}")
    with pytest.raises(QueryTooDeepError):  # Oxigraph reads a comment after the operator
        check_nesting(f"ASK {{ FILTER(1<#>\n{deep}) }}")
    with pytest.raises(QueryTooDeepError):  # a function call without FILTER's parentheses
        check_nesting(f"ASK {{ ?s ?p ?o FILTER <urn:f>(?o<{deep}>?o) }}")
    with pytest.raises(QueryTooDeepError):  # an expression in a subquery's SELECT clause
        check_nesting(f"ASK {{ {{ SELECT ?a (?a<{deep}>0 AS ?b) {{ ?a ?p ?o }} }} }}")


def test_a_refusal_says_where_the_limit_was_passed() -> None:
    text = "SELECT * WHERE {\n  FILTER(" + "(" * 2000 + "1" + ")" * 2000 + ")\n}"
    with pytest.raises(QueryTooDeepError) as caught:
        check_nesting(text, source="deep.rq")
    error = caught.value
    assert (error.line, error.limit) == (2, MAX_NESTING)
    assert str(error).startswith(f"line 2, column {error.column} of deep.rq: ")
    assert "nests too deeply" in str(error)


def test_an_unterminated_string_stops_the_count() -> None:
    assert nesting("ASK { FILTER('" + "(" * 5000).depth < 20


# ------------------------------------------------------------------ the command line


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("safety-kg") / "kg"
    done = ontomap_cli("build", EXAMPLES, "--store", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


def test_ontomap_query_refuses_an_over_deep_query_with_exit_2(store: Path, tmp_path: Path) -> None:
    deep = "ASK { FILTER(" + "(" * 10_000 + "1" + ")" * 10_000 + ") }"  # 20 KB
    here = ontomap_cli("query", deep, "--store", store, timeout=120)
    assert here.returncode == 2, here.stderr
    assert "nests too deeply" in here.stderr and "of <query>" in here.stderr
    remote = ontomap_cli("query", deep, "--endpoint", "http://127.0.0.1:9/query", timeout=120)
    assert remote.returncode == 2 and "nests too deeply" in remote.stderr  # before any request
    path = tmp_path / "deep.rq"
    path.write_text("ASK {\n" + " UNION ".join(["{}"] * 20_000) + "\n}\n")
    from_file = ontomap_cli("query", "--file", path, "--store", store, timeout=120)
    assert from_file.returncode == 2 and "line 2, column" in from_file.stderr
    assert str(path) in from_file.stderr


def test_ontomap_query_runs_a_deep_but_accepted_query(store: Path) -> None:
    depth = _deepest_accepted(DEEP["parentheses"])
    done = ontomap_cli("query", DEEP["parentheses"](depth), "--store", store, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "true"


def test_the_help_states_the_limit() -> None:
    done = ontomap_cli("query", "--help")
    assert f"at most {MAX_NESTING} levels" in " ".join(done.stdout.split())
