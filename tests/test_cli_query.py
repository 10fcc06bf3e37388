"""Tests of ``ontomap query`` and ``ontomap lookup`` through the entry point (every option and
documented exit code) and as real processes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, ROOT

from ontomap.cli import main
from ontomap.cli.lookup import CSV_COLUMNS
from ontomap.query import named_queries
from ontomap.readers import read_models
from ontomap.store import Store


def run(*args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        main, [str(a) for a in args], input=stdin, env=env, catch_exceptions=False
    )


@pytest.fixture(scope="module")
def kg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples-kg")
    with Store(path) as store:
        store.load(read_models([EXAMPLES]).models)
    return path


# ------------------------------------------------------------------ help


@pytest.mark.parametrize("command", ["query", "lookup"])
def test_help_teaches_with_examples_and_exit_codes(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output and "Exit codes:" in result.output
    assert f"ontomap {command} " in result.output


def test_the_commands_are_registered() -> None:
    result = run("--help")
    assert "query" in result.output and "lookup" in result.output


# ------------------------------------------------------------------ query


def test_query_text_as_a_table(kg: Path) -> None:
    result = run(
        "query",
        "--store",
        kg,
        "SELECT ?f ?name WHERE { ?f a oifm:FindingModel ; rdfs:label ?name } ORDER BY ?f",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["?f", "?name"]
    assert lines[2].startswith("fm:OIFM_GMTS_005529  Diffuse hepatic calcifications")
    assert lines[-1] == "(3 rows)"


def test_query_width_cuts_long_literals(kg: Path) -> None:
    text = "SELECT ?name WHERE { fm:OIFM_GMTS_005529 rdfs:label ?name }"
    assert "Diffuse h…" in run("query", "--store", kg, "--width", "10", text).output
    assert (
        "Diffuse hepatic calcifications" in run("query", "--store", kg, "--width", "0", text).output
    )


def test_query_from_a_file_and_from_stdin(kg: Path, tmp_path: Path) -> None:
    path = tmp_path / "tags.rq"
    path.write_text("SELECT DISTINCT ?tag WHERE { ?f oifm:tag ?tag } ORDER BY ?tag")
    by_file = run("query", "--store", kg, "--file", path, "--format", "csv")
    assert by_file.exit_code == 0
    assert by_file.output.splitlines()[0] == "tag"
    by_stdin = run("query", "--store", kg, "--file", "-", "--format", "csv", stdin=path.read_text())
    assert by_stdin.output == by_file.output


def test_a_query_file_header_types_its_parameters(kg: Path, tmp_path: Path) -> None:
    path = tmp_path / "uses.rq"
    path.write_text(
        "# param: code (code, required) a code\n"
        "SELECT ?code ?e WHERE { ?e oifm:hasIndexCode ?code }\n"
    )
    result = run("query", "--store", kg, "--file", path, "-p", "code=GAMUTS:5529", "-f", "csv")
    assert result.output.splitlines()[1:] == [
        "https://w3id.org/ontomap/code/GAMUTS/5529,https://w3id.org/ontomap/id/OIFM_GMTS_005529"
    ]
    missing = run("query", "--store", kg, "--file", path)
    assert missing.exit_code == 2 and "needs --param code" in missing.output


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_every_named_query_runs_from_the_cli_as_documented(name: str, kg: Path) -> None:
    example = named_queries()[name].example
    assert example is not None
    args = example.split()[2:]  # after "ontomap query"
    result = run("query", "--store", kg, *args)
    assert result.exit_code == 0, result.output


def test_query_name_with_params(kg: Path) -> None:
    result = run(
        "query",
        "--store",
        kg,
        "--name",
        "findings-with-code",
        "--param",
        "code=RADLEX:RID5791",
        "--format",
        "tsv",
    )
    assert result.exit_code == 0
    rows = result.output.splitlines()
    assert rows[0].split("\t")[:2] == ["?code", "?finding"]
    assert {r.split("\t")[1] for r in rows[1:]} == {'"OIFM_GMTS_005529"', '"OIFM_OMAP_000001"'}
    short = run("query", "--store", kg, "-n", "findings-by-tag", "-p", "tag=liver")
    assert short.exit_code == 0 and "OIFM_GMTS_005529" in short.output


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv", "table"])
def test_query_select_formats(fmt: str, kg: Path) -> None:
    result = run("query", "--store", kg, "--format", fmt, "SELECT ?f WHERE { ?f oifm:tag 'liver' }")
    assert result.exit_code == 0
    out = result.output
    if fmt == "json":
        data = json.loads(out)
        assert data["head"]["vars"] == ["f"]
        assert data["results"]["bindings"][0]["f"]["value"].endswith("OIFM_GMTS_005529")
    elif fmt == "xml":
        assert out.startswith('<?xml version="1.0"?><sparql')
    elif fmt == "csv":
        assert out.splitlines() == ["f", "https://w3id.org/ontomap/id/OIFM_GMTS_005529"]
    elif fmt == "tsv":
        assert out.splitlines() == ["?f", "<https://w3id.org/ontomap/id/OIFM_GMTS_005529>"]
    else:
        assert "fm:OIFM_GMTS_005529" in out and "(1 row)" in out


def test_query_ask(kg: Path) -> None:
    assert run("query", "--store", kg, "ASK { ?f oifm:tag 'liver' }").output == "true\n"
    result = run("query", "--store", kg, "--format", "json", "ASK { ?f oifm:tag 'nope' }")
    assert json.loads(result.output) == {"head": {}, "boolean": False}


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", None])
def test_query_construct_and_describe(fmt: str | None, kg: Path) -> None:
    args = ["--format", fmt] if fmt else []
    text = "CONSTRUCT { ?f rdfs:label ?l } WHERE { ?f oifm:tag 'liver' ; rdfs:label ?l }"
    result = run("query", "--store", kg, *args, text)
    assert result.exit_code == 0
    if fmt == "ntriples":
        assert result.output == (
            "<https://w3id.org/ontomap/id/OIFM_GMTS_005529> "
            '<http://www.w3.org/2000/01/rdf-schema#label> "Diffuse hepatic calcifications" .\n'
        )
    else:
        assert 'fm:OIFM_GMTS_005529 rdfs:label "Diffuse hepatic calcifications" .' in result.output
    described = run("query", "--store", kg, *args, "DESCRIBE fm:OIFM_GMTS_005529")
    assert described.exit_code == 0 and "OIFM_GMTS_005529" in described.output


def test_query_list(kg: Path) -> None:
    result = run("query", "--list")
    assert result.exit_code == 0
    for name, query in named_queries().items():
        assert f"  {name}\n" in result.output
        for param in query.params:
            assert f"--param {param.name}=" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one of QUERY, --file or --name"),
        (("SELECT * {}", "--name", "code-systems"), "exactly one of"),
        (("SELECT * WHERE { ?s ?p }",), "SPARQL syntax error at line 1, column 25"),
        (("INSERT DATA { <http://a> <http://b> <http://c> }",), "read-only"),
        (("DROP ALL",), "read-only"),
        (("--name", "findings-with-code"), "needs --param code"),
        (("--name", "code-systems", "--param", "x=1"), "takes no parameter 'x'"),
        (("--name", "code-systems", "--param", "novalue"), "expected NAME=VALUE"),
        (("--name", "nope"), "'nope' is not one of"),
        (("SELECT ?x WHERE { ?s ?p ?x }", "-p", "s=a"), "must be a variable the query selects"),
        (("CONSTRUCT WHERE { ?s a oifm:FindingModel }", "--format", "csv"), "--format csv is"),
        (("SELECT * WHERE { ?s ?p ?o } LIMIT 1", "--format", "turtle"), "--format turtle is"),
        (("SELECT * {}", "--format", "yaml"), "'yaml' is not one of"),
        (("SELECT * {}", "--width", "-1"), "-1 is not in the range"),
    ],
)
def test_query_usage_errors_exit_2(args: tuple[str, ...], message: str, kg: Path) -> None:
    result = run("query", "--store", kg, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_query_file_missing_exits_2(kg: Path, tmp_path: Path) -> None:
    result = run("query", "--store", kg, "--file", tmp_path / "missing.rq")
    assert result.exit_code == 2 and "cannot read the query file" in result.output


@pytest.mark.parametrize("code", ["nonsense", "foo:bar", "263768009"])
def test_query_unknown_code_parameter_exits_3(code: str, kg: Path) -> None:
    result = run("query", "--store", kg, "-n", "findings-with-code", "-p", f"code={code}")
    assert result.exit_code == 3, result.output


def test_query_unknown_system_parameter_exits_3(kg: Path) -> None:
    result = run("query", "--store", kg, "-n", "code-pairs", "-p", "source=NOPE")
    assert result.exit_code == 3 and "unknown code system 'NOPE'" in result.output


def test_query_missing_store_exits_4(tmp_path: Path) -> None:
    result = run("query", "--store", tmp_path / "none", "ASK {}")
    assert result.exit_code == 4 and "no store at" in result.output


def test_query_store_from_the_environment(kg: Path) -> None:
    result = run("query", "ASK { ?s ?p ?o }", env={"ONTOMAP_STORE": str(kg)})
    assert result.output == "true\n"


@pytest.mark.parametrize("value", ['"} ; DROP ALL ; {"', "> <x"])
def test_query_injection_matches_nothing_and_changes_nothing(value: str, kg: Path) -> None:
    with Store(kg, read_only=True) as store:
        before = len(store)
    named = run("query", "--store", kg, "-n", "findings-by-tag", "-p", f"tag={value}")
    assert named.exit_code == 0 and "(0 rows)" in named.output
    free = run("query", "--store", kg, "SELECT ?t ?f WHERE { ?f oifm:tag ?t }", "-p", f"t={value}")
    assert free.exit_code == 0 and "(0 rows)" in free.output
    with Store(kg, read_only=True) as store:
        assert len(store) == before


# ------------------------------------------------------------------ lookup


def test_lookup_table(kg: Path) -> None:
    result = run("lookup", "RADLEX:RID5791", "--store", kg)
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("radlex:RID5791  (RADLEX RID5791)")
    assert "used by   2 entities in 2 findings (2 values)" in out
    assert "evidence  index code of 2 entities in 1 independent context" in out
    assert "paired codes (1)" in out and "sct:263768009" in out and "1:1" in out
    assert 'in value "larger" of "change from prior": 2 entities in 2 findings' in out
    assert "OIFM_OMAP_000001" in out and "solitary pulmonary nodule" in out  # finding name
    assert "co-listed" not in out


def test_lookup_pages_the_uses(kg: Path) -> None:
    first = run("lookup", "RID5791", "--store", kg, "--limit", "1").output
    assert "used by (1–1 of 2; --offset 1 for the next, --all for every use):" in first
    second = run("lookup", "RID5791", "--store", kg, "--limit", "1", "--offset", "1").output
    assert "used by (2–2 of 2; --all for every use):" in second
    assert "used by (2):" in run("lookup", "RID5791", "--store", kg, "--all").output
    assert (
        "none from 3; 2 in all" in run("lookup", "RID5791", "--store", kg, "--offset", "2").output
    )
    both = run("lookup", "RID5791", "--store", kg, "--all", "--limit", "3")
    assert both.exit_code == 2 and "not both" in both.output


def test_lookup_json(kg: Path) -> None:
    result = run("lookup", "RID5791", "--to", "SNOMEDCT", "--format", "json", "--store", kg)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["version"] == 2 and data["to"] == "SNOMED"
    assert data["code"]["curie"] == "radlex:RID5791"
    assert [m["curie"] for m in data["matches"]] == ["sct:263768009"]
    match = data["matches"][0]
    assert (match["cardinality"], match["status"], match["independent_contexts"]) == (
        "1:1",
        "paired",
        1,
    )
    used = data["used_by"]
    assert (used["uses"], used["findings"], used["offset"], used["limit"]) == (2, 2, 0, 50)
    assert {u["finding"] for u in used["items"]} == {"OIFM_GMTS_005529", "OIFM_OMAP_000001"}
    paged = run("lookup", "RID5791", "--format", "json", "--store", kg, "--offset", "1", "--all")
    assert json.loads(paged.output)["used_by"]["items"] == used["items"][1:]
    assert json.loads(paged.output)["used_by"]["limit"] is None


def test_lookup_csv(kg: Path) -> None:
    result = run("lookup", "SNOMED 263768009", "--format", "csv", "--store", kg)
    rows = list(csv.reader(io.StringIO(result.output)))
    assert tuple(rows[0]) == CSV_COLUMNS
    row = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert [row[c] for c in ("from", "system", "code", "curie")] == [
        "sct:263768009",
        "RADLEX",
        "RID5791",
        "radlex:RID5791",
    ]
    assert (row["status"], row["independent_contexts"], row["share"], row["cardinality"]) == (
        "paired",
        "1",
        "1.0000",
        "1:1",
    )
    assert row["contexts"] == 'value "larger" of "change from prior" (2 entities, 2 findings)'


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("263768009", "could be a code of several systems"),
        ("foo:bar", "unknown code system 'foo'"),
        ("hello", "matches no known system's code pattern"),
        ("RADLEX:RID1", "is not used by any finding model"),
        ("radlex:rid5791", "malformed: expected the pattern"),
        ("http://example.org/x", "in no known code namespace"),
    ],
)
def test_lookup_unknown_or_malformed_exits_3(code: str, message: str, kg: Path) -> None:
    result = run("lookup", code, "--store", kg)
    assert result.exit_code == 3
    assert message in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("RID5791", "--to", "NOPE"),
        ("RID5791", "--format", "xml"),
        ("RID5791", "--limit", "-2"),
        ("RID5791", "--offset", "-1"),
        (),
    ],
)
def test_lookup_usage_errors_exit_2(args: tuple[str, ...], kg: Path) -> None:
    assert run("lookup", *args, "--store", kg).exit_code == 2


def test_lookup_missing_store_exits_4(tmp_path: Path) -> None:
    assert run("lookup", "RID5791", "--store", tmp_path / "none").exit_code == 4


def test_lookup_as_a_real_process(kg: Path) -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ontomap",
            "lookup",
            "gamuts:5529",
            "--store",
            str(kg),
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["used_by"]["items"][0]["entity"] == "OIFM_GMTS_005529"
    assert elapsed < 5  # generous here; benchmarks/bench_query.py measures the real figure
    missing = subprocess.run(
        [sys.executable, "-m", "ontomap", "lookup", "RID1", "--store", str(kg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 3 and "not used by any finding model" in missing.stderr


def test_query_as_a_real_process(kg: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ontomap",
            "query",
            "--store",
            str(kg),
            "-n",
            "code-systems",
            "--format",
            "csv",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "system,notation,codes,entities"


def test_lookup_on_the_corpus_cli(corpus_store: Path) -> None:
    result = run("lookup", "RADLEX:RID5655", "--to", "SNOMED", "--store", corpus_store)
    assert result.exit_code == 0
    flagged = [line for line in result.output.splitlines() if line.rstrip().endswith("outlier")]
    assert {line.split()[1] for line in flagged} == {"sct:386554004", "sct:363850001"}
