"""Conventions every command keeps: ``-q``/``-v``, progress on standard error, ``--examples``
from the installed package, counts in words, tables that fit the terminal, missing paths."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest
import rdflib
from click.testing import CliRunner, Result
from conftest import EXAMPLES, ROOT

from ontomap.cli import main
from ontomap.cli.options import columns, plural
from ontomap.progress import Activity, Progress
from ontomap.resources import examples_dir
from ontomap.store import Store

EXAMPLE_IDS = ["OIFM_GMTS_005529", "OIFM_OMAP_000001", "OIFM_OMAP_000002"]
SOLITARY = EXAMPLES / "solitary_pulmonary_nodule.fm.json"
#: A RadLex code of the examples paired with one SNOMED CT code.
PAIRED_CODE = "RADLEX:RID38669"
#: What ``-v`` prints last: the command and its time.
TIMING = re.compile(r"^ontomap [a-z ]+: \d+\.\d\d s(, exit \d+)?$", re.MULTILINE)


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def _leaf_commands() -> dict[str, click.Command]:
    """Every command by its path under ``ontomap`` (``terminology load``, ...)."""
    context = click.Context(main)
    found: dict[str, click.Command] = {}
    for name in main.list_commands(context):
        command = main.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            for sub in command.list_commands(context):
                leaf = command.get_command(context, sub)
                assert leaf is not None
                found[f"{name} {sub}"] = leaf
        else:
            found[name] = command
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("conventions") / "kg"
    done = run("build", EXAMPLES, "--store", path, "-q")
    assert done.exit_code == 0, done.stderr
    return path


# -- -q and -v --------------------------------------------------------------------------------


def test_every_command_but_serve_takes_q_and_v() -> None:
    commands = _leaf_commands()
    assert {"build", "export", "validate", "mappings", "push", "reason", "lookup"} <= set(commands)
    for name, command in commands.items():
        options = {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}
        if name == "serve":
            continue
        assert {"-q", "--quiet", "-v", "--verbose"} <= options, name
        shown = run(*name.split(), "--help")
        assert shown.exit_code == 0, name
        assert "-q, --quiet" in shown.output and "-v, --verbose" in shown.output, name


@pytest.mark.parametrize(
    "args",
    [("build", EXAMPLES), ("validate", EXAMPLES), ("lookup", PAIRED_CODE), ("reason", "x.owl")],
)
def test_q_and_v_together_are_a_usage_error(args: tuple[str, ...]) -> None:
    done = run(*args, "-q", "-v")
    assert done.exit_code == 2
    assert "give -q or -v, not both" in done.stderr


def test_build_quiet_says_nothing_and_verbose_names_each_file(tmp_path: Path) -> None:
    quiet = run("build", EXAMPLES, "--store", tmp_path / "q", "-q")
    assert quiet.exit_code == 0
    assert quiet.stdout == "" and quiet.stderr == ""

    verbose = run("build", EXAMPLES, "--store", tmp_path / "v", "--verbose")
    assert verbose.exit_code == 0
    files = sorted(p for p in EXAMPLES.iterdir() if p.is_file())
    lines = [line for line in verbose.stderr.splitlines() if line.startswith("reading ")]
    assert lines == [f"reading {p} ({n}/{len(files)})" for n, p in enumerate(files, 1)]
    assert TIMING.search(verbose.stderr), verbose.stderr
    assert verbose.stderr.splitlines()[-1].startswith("ontomap build: ")
    assert "3 models in all" in verbose.stdout  # the summary is the same as without -v


def test_quiet_still_prints_errors_and_keeps_the_exit_code(tmp_path: Path) -> None:
    missing = tmp_path / "missing.fm.json"
    done = run("build", missing, SOLITARY, "--store", tmp_path / "kg", "-q")
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"{missing}: error: no such file or folder"]


def test_verbose_reports_the_exit_code_of_a_failing_command(tmp_path: Path) -> None:
    done = run("build", tmp_path / "nothing", "--store", tmp_path / "kg", "-v")
    assert done.exit_code == 1
    assert done.stderr.splitlines()[-1].endswith(", exit 1")


def test_quiet_leaves_out_warnings(tmp_path: Path) -> None:
    """solitary_pulmonary_nodule writes SNOMEDCT: a warning when not quiet."""
    noisy = run(
        "mappings", SOLITARY, "--from", "RADLEX", "--to", "LOINC", "-o", tmp_path / "m.sssom.tsv"
    )
    assert "no mappings" in noisy.stderr
    quiet = run(
        "mappings",
        SOLITARY,
        "--from",
        "RADLEX",
        "--to",
        "LOINC",
        "-o",
        tmp_path / "m.sssom.tsv",
        "-q",
    )
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""


# -- progress ---------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_with_v_off_a_terminal_writes_plain_lines() -> None:
    stream = io.StringIO()
    progress = Progress("pushing triples", 10, stream=stream, enabled=True)
    for _ in range(10):
        progress.advance()
    progress.close()
    lines = stream.getvalue().splitlines()
    # the first count at once, then at most one a second, and the last one on close
    assert lines[0] == "pushing triples 1/10" and lines[-1] == "pushing triples 10/10"
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_activity_ticks_on_a_terminal_and_erases_itself() -> None:
    stream = _Terminal()
    with Activity("reasoning", stream=stream):
        pass
    text = stream.getvalue()
    assert text.startswith("\rreasoning… 0 s\x1b[K") and text.endswith("\r\x1b[K")


def test_activity_is_silent_off_a_terminal_and_two_lines_with_v() -> None:
    silent = io.StringIO()
    with Activity("checking", stream=silent):
        pass
    assert silent.getvalue() == ""
    logged = io.StringIO()
    with Activity("checking", stream=logged, enabled=True):
        pass
    first, second = logged.getvalue().splitlines()
    assert first == "checking…" and re.fullmatch(r"checking: \d+\.\d\d s", second)


def test_export_from_a_store_shows_its_steps_with_v(store: Path, tmp_path: Path) -> None:
    done = run("export", "--store", store, "-o", tmp_path / "kg.nt", "-v")
    assert done.exit_code == 0, done.stderr
    steps = done.stderr.splitlines()
    # Turtle and N-Triples are read from the store and written graph by graph: one step
    assert f"writing ntriples from the store {store}…" in steps
    assert any(
        re.fullmatch(rf"writing ntriples from the store {re.escape(str(store))}: \d+\.\d\d s", line)
        for line in steps
    )
    jsonld = run("export", "--store", store, "-o", tmp_path / "kg.jsonld", "-v")
    steps = jsonld.stderr.splitlines()
    assert f"reading the store {store}…" in steps and "writing jsonld…" in steps
    silent = run("export", "--store", store, "-o", tmp_path / "kg2.nt")
    assert silent.stderr == ""  # not a terminal, no -v: no progress


def test_mappings_show_progress_with_v(store: Path, tmp_path: Path) -> None:
    from_store = run("mappings", "--store", store, "-o", tmp_path / "a.sssom.tsv", "-v")
    assert from_store.exit_code == 0, from_store.stderr
    assert "reading the crosswalk from the store…" in from_store.stderr.splitlines()
    from_files = run("mappings", EXAMPLES, "-o", tmp_path / "b.sssom.tsv", "-v")
    assert from_files.exit_code == 0
    lines = from_files.stderr.splitlines()
    assert f"reading {SOLITARY} (3/3)" in lines and "pairing codes…" in lines


def test_validate_shacl_shows_progress_with_v() -> None:
    done = run("validate", EXAMPLES, "--shacl", "-v")
    assert done.exit_code == 0, done.output
    assert "validating, SHACL shapes included…" in done.stderr.splitlines()
    assert TIMING.search(done.stderr)
    assert "validating" not in done.stdout  # the report alone on standard output


def test_reason_shows_progress_with_v(tmp_path: Path) -> None:
    owl = tmp_path / "ex.owl"
    assert run("export", SOLITARY, "-o", owl, "-q").exit_code == 0
    done = run("reason", owl, "-v")  # 0 with Java, 2 without: the step is shown either way
    assert done.exit_code in (0, 2), done.output
    assert f"reasoning on {owl} with HermiT…" in done.stderr.splitlines()


def test_push_shows_progress_with_v_and_counts_in_words(store: Path, tmp_path: Path) -> None:
    from servers import oxigraph_server

    with oxigraph_server(tmp_path / "oxigraph") as url:
        done = run("push", "--store", store, "--endpoint", url + "update", "-v")
        one = run("push", SOLITARY, "--endpoint", url + "update")
    assert done.exit_code == 0, done.stderr
    counts = [line for line in done.stderr.splitlines() if line.startswith("pushing triples ")]
    assert counts and re.fullmatch(r"pushing triples (\d+)/\1", counts[-1]), done.stderr
    assert f"pushed 3 models from {store}" in done.stdout
    assert one.exit_code == 0, one.stderr
    assert "pushed 1 model from SOURCES" in one.stdout


# -- --examples -------------------------------------------------------------------------------


def test_the_examples_folder_is_the_package_resource() -> None:
    folder = examples_dir()
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in EXAMPLES.iterdir())


def test_build_export_and_validate_take_examples(tmp_path: Path) -> None:
    built = run("build", "--examples", "--store", tmp_path / "kg")
    assert built.exit_code == 0, built.stderr
    with Store(tmp_path / "kg", read_only=True) as store:
        assert store.model_ids() == EXAMPLE_IDS
    exported = run("export", "--examples", "-o", tmp_path / "ex.ttl")
    assert exported.exit_code == 0
    assert len(rdflib.Graph().parse(tmp_path / "ex.ttl")) > 500
    validated = run("validate", "--examples", "--format", "json")
    assert validated.exit_code == 0
    files = {Path(f["file"]).name for f in json.loads(validated.stdout)["findings"]}
    assert files == {SOLITARY.name}  # its SNOMEDCT spelling


def test_build_without_sources_or_examples_is_a_usage_error(tmp_path: Path) -> None:
    for command in (("build", "--store", tmp_path / "kg"), ("validate",)):
        done = run(*command)
        assert done.exit_code == 2
        assert "give SOURCES (files, folders, '-') or --examples" in done.stderr


@pytest.mark.slow
def test_examples_ship_in_the_wheel(tmp_path: Path) -> None:
    """The real wheel, installed apart from the clone, builds its examples from a folder that
    holds no clone."""
    pip = [sys.executable, "-m", "pip"]
    if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
        pytest.skip("pip is not installed")
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [*pip, "wheel", str(ROOT), "-w", str(wheels), "--no-deps", "-q"],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("ontomap-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ontomap/ontologies/examples/solitary_pulmonary_nodule.fm.json" in names
    site = tmp_path / "site"
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel), "-q"],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    code = (
        "import sys, ontomap, ontomap.cli.build; print(ontomap.__file__, file=sys.stderr); "
        "from ontomap.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "build", "--examples", "--store", "kg"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0].startswith(str(site))  # the wheel, not the clone
    assert "3 models in all" in done.stdout
    with Store(elsewhere / "kg", read_only=True) as store:
        assert store.model_ids() == EXAMPLE_IDS


# -- counts in words --------------------------------------------------------------------------


def test_plural() -> None:
    assert plural(1, "model") == "1 model"
    assert plural(0, "model") == "0 models"
    assert plural(1_204, "entity", "entities") == "1,204 entities"


def test_one_model_is_one_model(tmp_path: Path) -> None:
    built = run("build", SOLITARY, "--store", tmp_path / "kg")
    assert "read 1 file: 1 model, 0 errors, 0 warnings" in built.stdout
    assert "1 model in all" in built.stdout and "1 models" not in built.stdout
    exported = run("export", SOLITARY, "-o", tmp_path / "one.ttl")
    assert re.search(r"\(turtle, [\d,]+ triples, 1 model\)$", exported.stdout.strip())
    one = json.loads(SOLITARY.read_text())
    _drop_codes(one)
    one["index_codes"] = [
        {"system": "GAMUTS", "code": "14616", "display": "solitary pulmonary nodule"},
        {"system": "RADELEMENT", "code": "RDES195", "display": "pulmonary nodule"},
    ]
    (tmp_path / "one.fm.json").write_text(json.dumps(one))
    mapped = run("mappings", tmp_path / "one.fm.json", "-o", tmp_path / "m.sssom.tsv")
    assert mapped.exit_code == 0, mapped.stderr
    assert "(sssom, 1 mapping (1 skos:relatedMatch))" in mapped.stdout
    two = run("mappings", SOLITARY, "--to", "SNOMED", "-o", tmp_path / "m.sssom.tsv")
    assert re.search(r"\(sssom, [2-9]\d* mappings \(", two.stdout), two.stdout


def _drop_codes(node: object) -> None:
    """Every ``index_codes`` under ``node`` removed."""
    if isinstance(node, dict):
        node.pop("index_codes", None)
        for value in node.values():
            _drop_codes(value)
    elif isinstance(node, list):
        for value in node:
            _drop_codes(value)


# -- the OWL summary counts the triples of the file -------------------------------------------


@pytest.mark.parametrize(("fmt", "parse_as"), [("owl", "xml"), ("owl-ttl", "turtle")])
def test_owl_summary_counts_the_triples_written(tmp_path: Path, fmt: str, parse_as: str) -> None:
    path = tmp_path / f"examples.{fmt}"
    done = run("export", EXAMPLES, "-f", fmt, "-o", path)
    assert done.exit_code == 0, done.stderr
    in_file = len(rdflib.Graph().parse(path, format=parse_as))
    assert f"({fmt}, {in_file:,} triples, 3 models)" in done.stdout
    summary = run("export", EXAMPLES, "-f", fmt, "-o", path, "--json")
    assert json.loads(summary.stdout)["output"]["triples"] == in_file


# -- tables fit the terminal ------------------------------------------------------------------


def test_columns_narrow_text_then_fall_back_to_records() -> None:
    header = ["code", "label", "n"]
    rows = [["RID1", "a rather long label of a code", "12"], ["RID22", "short", "3"]]
    assert max(map(len, columns(header, rows, {2}))) == 2 + 5 + 2 + 29 + 2 + 2
    narrow = columns(header, rows, {2}, width=30)
    assert all(len(line) <= 30 for line in narrow)
    assert narrow[2] == "  RID1   a rather long la…  12"  # 2 + 5 + 2 + 17 + 2 + 2
    records = columns(header, rows, {2}, width=20)  # 21 at the narrowest: records
    assert records[:4] == ["  code   RID1", "  label  a rather l…", "  n      12", ""]
    assert records[4:] == ["  code   RID22", "  label  short", "  n      3"]


@pytest.mark.parametrize("command", [("lookup", PAIRED_CODE), ("translate", PAIRED_CODE)])
def test_tables_fit_columns(store: Path, command: tuple[str, ...]) -> None:
    wide = run(*command, "--store", store, env={"COLUMNS": "400"})
    assert wide.exit_code == 0, wide.stderr
    assert max(map(len, wide.stdout.splitlines())) > 60  # so the narrow run has work to do
    narrow = run(*command, "--store", store, env={"COLUMNS": "60"})
    assert narrow.exit_code == 0
    too_long = [line for line in narrow.stdout.splitlines() if len(line) > 60]
    if command[0] == "translate":  # its first line is the FHIR message, not a table
        too_long = too_long[1:] if too_long and "mapping" in too_long[0] else too_long
    else:  # the code's IRI line is not cut
        too_long = [line for line in too_long if not line.startswith("  iri ")]
    assert too_long == []
    assert "263796003" in narrow.stdout  # identifiers are never cut


def test_a_pipe_gets_whole_cells(store: Path) -> None:
    env = {"COLUMNS": ""}
    piped = run("lookup", PAIRED_CODE, "--store", store, env=env)
    assert "Lesser (qualifier value)" in piped.stdout and "…" not in piped.stdout.split("used")[0]


def test_query_table_fits_columns(store: Path) -> None:
    text = "SELECT ?s ?d WHERE { ?s dcterms:description ?d } ORDER BY ?s LIMIT 5"
    wide = run("query", "--store", store, text, env={"COLUMNS": "400"})
    assert max(map(len, wide.stdout.splitlines())) > 70
    narrow = run("query", "--store", store, text, env={"COLUMNS": "70"})
    assert narrow.exit_code == 0
    assert max(map(len, narrow.stdout.splitlines())) <= 70, narrow.stdout
    given = run("query", "--store", store, text, "--width", "0", env={"COLUMNS": "70"})
    assert max(map(len, given.stdout.splitlines())) > 70  # --width given: the user's choice


# -- missing paths; validate -o ---------------------------------------------------------------


def test_build_and_validate_word_a_missing_path_alike(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    built = run("build", missing, SOLITARY, "--store", tmp_path / "kg")
    checked = run("validate", missing, SOLITARY)
    assert built.exit_code == checked.exit_code == 1
    assert f"{missing}: error: no such file or folder" in built.stderr
    assert f"{missing}: read/unreadable: no such file or folder" in checked.stdout
    assert "validated 2 files (1 model)" in checked.stdout  # the other one is validated


def test_validate_writes_its_report_with_o(tmp_path: Path) -> None:
    default = run("validate", EXAMPLES, "--format", "json")
    dash = run("validate", EXAMPLES, "--format", "json", "-o", "-")
    assert dash.stdout == default.stdout and json.loads(default.stdout)["findings"]
    report = tmp_path / "report.json"
    to_file = run("validate", EXAMPLES, "--format", "json", "--output", report)
    assert to_file.exit_code == default.exit_code == 0
    assert to_file.stdout == ""
    assert report.read_text() == default.stdout
    text = tmp_path / "report.txt"
    assert run("validate", EXAMPLES, "-o", text).stdout == ""
    assert text.read_text() == run("validate", EXAMPLES).stdout


def test_validate_o_dash_and_fixes_dash_is_a_usage_error(store: Path) -> None:
    done = run("validate", EXAMPLES, "--store", store, "--fixes", "-", "-o", "-")
    assert done.exit_code == 2
    assert "both name standard output" in done.stderr


def _format_param(command: str) -> click.Parameter:
    found = [p for p in _leaf_commands()[command].params if "--format" in p.opts]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(
    ("command", "spelling", "name"),
    [
        ("export", "TTL", "turtle"),
        ("export", "text/turtle", "turtle"),  # not owl-ttl, which is Turtle too
        ("export", "application/x-turtle", "turtle"),
        ("export", "nt", "ntriples"),
        ("export", "n-quads", "nquads"),
        ("export", "application/trig", "trig"),
        ("export", "json-ld", "jsonld"),
        ("export", "rdf+xml", "rdfxml"),
        ("export", "application/rdf+xml", "rdfxml"),  # not owl, which is RDF/XML too
        ("export", "owl-turtle", "owl-ttl"),
        ("export", "application/n-triples", "ntriples"),
        ("query", "Table", "table"),
        ("query", "application/sparql-results+json", "json"),
        ("query", "application/json", "json"),
        ("query", "application/sparql-results+xml", "xml"),
        ("query", "text/csv", "csv"),
        ("query", "text/tab-separated-values", "tsv"),
        ("query", "ttl", "turtle"),
        ("query", "n-triples", "ntriples"),
        ("mappings", "sssom-tsv", "sssom"),
        ("mappings", "FHIR-R4", "fhir-r4"),
        ("diff", "application/json", "json"),
    ],
)
def test_format_spellings(command: str, spelling: str, name: str) -> None:
    param = _format_param(command)
    assert param.type.convert(spelling, param, click.Context(_leaf_commands()[command])) == name


@pytest.mark.parametrize(
    ("command", "spelling", "listed"),
    [
        (
            "export",
            "text/csv",
            "'jsonld', 'nquads', 'ntriples', 'owl', 'owl-ttl', 'rdfxml', 'trig', 'turtle'",
        ),
        ("query", "jsonld", "'table', 'json', 'xml', 'csv', 'tsv', 'turtle', 'ntriples'"),
        ("mappings", "ttl", "'sssom', 'fhir-r4', 'fhir-r5', 'skos'"),
        ("diff", "yaml", "'text', 'json', 'markdown'"),
    ],
)
def test_unknown_format_lists_the_choices(command: str, spelling: str, listed: str) -> None:
    param = _format_param(command)
    with pytest.raises(click.BadParameter) as info:
        param.type.convert(spelling, param, click.Context(_leaf_commands()[command]))
    assert info.value.format_message() == (
        f"Invalid value for '-f' / '--format': {spelling!r} is not one of {listed}."
    )
