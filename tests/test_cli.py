"""Tests of the ``ontomap`` command line through its entry point and as real processes."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import click
import oracle
import pytest
import rdflib
from click.testing import CliRunner, Result
from conftest import EXAMPLES, RESOURCES, ROOT

from ontomap import __version__
from ontomap.cli import main
from ontomap.exporters import EXPORTERS
from ontomap.progress import Progress
from ontomap.store import Store

BROKEN = RESOURCES / "broken"
#: file → line of its error (None: the line is checked in test_readers.py, not here again)
BROKEN_ERRORS: dict[str, int | None] = {
    "bad_oifm_id.fm.json": 3,
    "bad_value_code.fm.json": 11,
    "foreign_value_code.fm.json": None,
    "invalid_json.fm.json": 4,
    "missing_id.fm.json": 1,
    "nested/duplicate_id.fm.json": 2,
    "not_utf8.fm.json": 3,
    "truncated.fm.json": 8,
}
EXAMPLE_IDS = ["OIFM_GMTS_005529", "OIFM_OMAP_000001", "OIFM_OMAP_000002"]


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def _ids(store_path: Path) -> list[str]:
    with Store(store_path, read_only=True) as store:
        return store.model_ids()


#: rdflib's parser name of each export format checked here
RDFLIB_FORMATS = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}


def _expected(base: str = oracle.DEFAULT_BASE) -> set[oracle.Triple]:
    """The triples the bundled examples should give, from their JSON (tests/oracle.py)."""
    if not oracle.CORPUS_DEFS.is_dir():
        pytest.skip(f"the seed example's JSON is in the shared corpus ({oracle.CORPUS_DEFS})")
    return oracle.graph_triples(oracle.example_models(), base)


def _show(triples: set[oracle.Triple]) -> str:
    return "\n".join(" ".join(term.n3() for term in t) for t in sorted(triples)[:20])


def assert_triples(got: set[oracle.Triple], expected: set[oracle.Triple]) -> None:
    missing, extra = expected - got, got - expected
    assert not missing and not extra, f"missing:\n{_show(missing)}\nextra:\n{_show(extra)}"


def _subjects(triples: set[oracle.Triple]) -> set[str]:
    return {str(s) for s, _, _ in triples}


def assert_documented_form(data: bytes, fmt: str, expected: set[oracle.Triple]) -> None:
    """The shape README "Outputs" and DESIGN "Outputs" promise for each format."""
    text = data.decode("utf-8")
    assert "ns1:" not in text
    if fmt == "ntriples":  # one triple per line, lines sorted
        lines = text.splitlines()
        assert text.endswith(" .\n") and len(lines) == len(expected)
        assert lines == sorted(lines)
    elif fmt == "turtle":  # grouped by subject, only the prefixes used, sorted
        declared = re.findall(r"^@prefix ([A-Za-z0-9]*): <", text, re.MULTILINE)
        assert declared == sorted(declared)
        body = text[text.rindex("@prefix ") :].split("\n", 1)[1]
        for prefix in declared:
            assert re.search(rf"(^|[\s^]){prefix}:", body, re.MULTILINE), f"{prefix}: unused"
        starts = [line for line in body.splitlines() if line and not line[0].isspace()]
        assert len(starts) == len(_subjects(expected)), "one block per subject"
    else:  # JSON-LD 1.1: one node per subject, @context of the prefixes used
        document = json.loads(text)
        ids = [node["@id"] for node in document["@graph"]]
        assert len(ids) == len(set(ids)) == len(_subjects(expected))
        for prefix in document["@context"]:
            assert f'"{prefix}:' in text, f"{prefix}: unused"


def assert_examples_graph(data: bytes, fmt: str, base: str = oracle.DEFAULT_BASE) -> None:
    """``data`` (an export of the bundled examples) holds exactly the oracle's triples."""
    expected = _expected(base)
    with warnings.catch_warnings():  # rdflib's own JSON-LD parser uses its ConjunctiveGraph
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        got = set(rdflib.Graph().parse(data=data, format=RDFLIB_FORMATS[fmt]))
    assert_triples(got, expected)  # type: ignore[arg-type]
    assert_documented_form(data, fmt, expected)


def test_the_oracles_count_of_the_examples_by_hand() -> None:
    """The oracle's triple counts, worked out by hand from the models and the README mapping.

    Solitary pulmonary nodule (JSON): finding 4 (type, ID, label, description) + 2 synonyms +
    5 tags + 1 location + 4 attributes + 2 contributors + 2 codes = 20; person 8 (2 types,
    label, email, GitHub, organisation, position, URL) + organisation 6 = 14; each attribute
    7 (2 types, ID, label, description, position, required): presence 7+1 code+1 max+2 values
    = 11, its values 2 x (5 + 2 codes) = 14; size 7+1 code+min+max+unit = 11; location
    7+2+1+5 = 15, values 5 x 4 (no description) = 20; change 7+2+1+3 = 13, values 3 x (4+2) =
    18: 136 entity triples; 19 codes x 4 (type, label, scheme, notation) = 76; 4 schemes x 5
    (type, label, notation, namespace, FHIR system) = 20; 136 + 76 + 20 = 232.
    Diffuse hepatic calcifications (Markdown: no required): finding 4+2+6+2 attributes+1
    contributor+1 code = 16; organisation 6; presence 6+1+1+4 = 12, values 4 x (5+2) = 28;
    change 6+2+1+8 = 17, values 8 x 5 + 7 x 2 codes = 54: 133; 26 codes x 4 = 104; 3 schemes
    x 5 = 15; 133 + 104 + 15 = 252.
    Glasgow coma scale (Markdown): finding 4+1+4+4+2+1 = 16; person 7 (no GitHub) + organisation
    6 = 13; eye 6+1+1+4 = 12, values 4 x 6 = 24; verbal 6+1+1+2 = 10, values 2 x 6 = 12;
    reviewed 6+1+3 = 10, values 3 x 4 = 12; total 6+1+3 = 10: 119; 10 codes x 4 = 40; LOINC 5;
    119 + 40 + 5 = 164.
    Together: 232 + 252 + 164 = 648, less the 13 codes the first two share (13 x 4 = 52) and
    their 3 shared schemes (3 x 5 = 15): 648 - 52 - 15 = 581.
    """
    models = list(oracle.example_models()) if oracle.CORPUS_DEFS.is_dir() else []
    if not models:
        pytest.skip(f"the seed example's JSON is in the shared corpus ({oracle.CORPUS_DEFS})")
    assert [len(oracle.model_triples(m)) for m in models] == [232, 252, 164]
    assert len(_expected()) == 581


# -- help and version -------------------------------------------------------------------------


def test_every_command_has_help() -> None:
    context = click.Context(main)
    names = main.list_commands(context)
    assert {"build", "export", "lookup", "mappings", "validate", "serve"} <= set(names)
    for args in (["--help"], ["-h"]):
        result = run(*args)
        assert result.exit_code == 0
        assert "Usage:" in result.output and "Exit codes" in result.output
        for name in names:
            assert name in result.output
    for name in names:
        command = main.get_command(context, name)
        assert command is not None, name
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert result.output.startswith("Usage: "), name
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not parameter.hidden:
                assert any(opt in result.output for opt in parameter.opts), (name, parameter.opts)


def test_build_and_export_help_show_the_documented_options() -> None:
    build = run("build", "--help").output
    for option in ("--store", "--base-iri", "--strict", "--quiet", "ONTOMAP_STORE"):
        assert option in build
    export = run("export", "--help").output
    for option in ("--output", "--format", "--store", "--base-iri", "--strict", "--quiet"):
        assert option in export
    for fmt in ("turtle", "ntriples", "jsonld"):
        assert fmt in export


def test_format_choices_are_the_exporter_registry() -> None:
    (fmt,) = [p for p in main.commands["export"].params if p.name == "fmt"]
    assert isinstance(fmt.type, click.Choice)
    assert sorted(fmt.type.choices) == sorted(EXPORTERS)


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"ontomap, version {__version__}"


# -- build ------------------------------------------------------------------------------------


def test_build_examples(tmp_path: Path) -> None:
    result = run("build", EXAMPLES, "--store", tmp_path / "kg")
    assert result.exit_code == 0, result.output
    assert "read 3 files: 3 models, 0 errors, 0 warnings" in result.stdout
    assert "3 added, 0 replaced, 3 models in all" in result.stdout
    assert result.stderr == ""
    assert _ids(tmp_path / "kg") == EXAMPLE_IDS
    again = run("build", EXAMPLES / "solitary_pulmonary_nodule.fm.json", "--store", tmp_path / "kg")
    assert again.exit_code == 0
    assert "read 1 file: 1 model," in again.stdout
    assert "0 added, 1 replaced, 3 models in all" in again.stdout


def test_build_bad_inputs(tmp_path: Path) -> None:
    result = run("build", BROKEN, EXAMPLES, "--store", tmp_path / "kg")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == len(BROKEN_ERRORS)
    for name, line in BROKEN_ERRORS.items():
        where = f"{BROKEN / name}:{line}" if line else f"{BROKEN / name}"
        assert any(e.startswith(where) for e in errors), name
    assert "read 14 files: 4 models, 8 errors, 1 warning" in result.stdout
    assert "1 Markdown rendering of JSON models read as the same models" in result.stdout
    assert f"1 file holding no finding model left out ({BROKEN / 'not_a_model.md'})" in (
        result.stdout
    )
    rendering = BROKEN / "nested" / "rendering_disagrees.md"
    assert f"{rendering}:1: warning: the Markdown rendering of OIFM_TEST_000001 differs" in (
        result.stderr
    )
    assert _ids(tmp_path / "kg") == [*EXAMPLE_IDS, "OIFM_TEST_000001"]


@pytest.mark.parametrize("command", ["build", "export"])
def test_strict_stops_at_the_first_error(tmp_path: Path, command: str) -> None:
    where = ["--store", tmp_path / "kg"] if command == "build" else ["-o", tmp_path / "x.ttl"]
    result = run(command, BROKEN, "--strict", *where)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ontomap: error: ")
    assert f"{BROKEN / 'bad_oifm_id.fm.json'}:3: invalid OIFM ID" in lines[0]
    assert "truncated" not in result.output and "read " not in result.stdout
    assert not (tmp_path / "x.ttl").exists()


def test_build_strict_with_good_input(tmp_path: Path) -> None:
    result = run("build", EXAMPLES, "--strict", "--store", tmp_path / "kg")
    assert result.exit_code == 0
    assert _ids(tmp_path / "kg") == EXAMPLE_IDS


def test_build_warnings_and_quiet(tmp_path: Path) -> None:
    source = RESOURCES / "unknown_system.fm.json"
    loud = run("build", source, "--store", tmp_path / "kg")
    assert loud.exit_code == 0
    assert f"{source}:6: warning: unknown code system 'FOOBAR'" in loud.stderr
    assert "1 warning" in loud.stdout
    quiet = run("build", source, "-q", "--store", tmp_path / "kg")
    assert quiet.exit_code == 0 and quiet.output == ""
    errors_only = run(
        "build", BROKEN / "truncated.fm.json", source, "--quiet", "--store", tmp_path / "kg"
    )
    assert errors_only.exit_code == 1
    assert errors_only.stdout == ""
    assert (
        errors_only.stderr.count("\n") == 1 and "truncated.fm.json:8: error:" in errors_only.stderr
    )


def test_build_with_base_iri(tmp_path: Path) -> None:
    base = "http://example.org/oifm/"
    assert run("build", EXAMPLES, "--store", tmp_path / "kg", "--base-iri", base).exit_code == 0
    with Store(tmp_path / "kg", read_only=True) as store:
        assert store.base_iri == base
    # the store keeps its base when none is given ...
    assert run("build", EXAMPLES, "--store", tmp_path / "kg").exit_code == 0
    # ... and refuses another one (store error)
    other = run(
        "build", EXAMPLES, "--store", tmp_path / "kg", "--base-iri", "http://example.org/x/"
    )
    assert other.exit_code == 4
    assert "ontomap: error: " in other.stderr and base in other.stderr


def test_store_default_from_the_environment(tmp_path: Path) -> None:
    env = {"ONTOMAP_STORE": str(tmp_path / "env-kg")}
    built = run("build", EXAMPLES, env=env)
    assert built.exit_code == 0, built.output
    assert str(tmp_path / "env-kg") in built.stdout
    assert _ids(tmp_path / "env-kg") == EXAMPLE_IDS
    exported = run("export", "-o", tmp_path / "out.nt", env=env)
    assert exported.exit_code == 0, exported.output
    assert_examples_graph((tmp_path / "out.nt").read_bytes(), "ntriples")
    # --store wins over the environment
    assert (
        run("export", "--store", tmp_path / "nope", "-o", tmp_path / "x.nt", env=env).exit_code == 4
    )


# -- usage errors (2) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["build"],  # no sources
        ["build", "--store"],
        ["export", str(EXAMPLES), "-o", "x.ttl", "--format", "n3"],
        ["export", str(EXAMPLES), "-o", "x.unknown"],
        ["export", str(EXAMPLES), "-o", "noextension"],
        ["build", str(EXAMPLES), "--base-iri", "not-an-iri"],
        ["export", str(EXAMPLES), "-o", "x.ttl", "--base-iri", "http://example.org/no-slash"],
        ["export", "-o", "x.ttl", "--base-iri", "http://example.org/oifm/"],  # store + base
        ["nosuchcommand"],
        ["build", str(EXAMPLES), "--no-such-option"],
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ONTOMAP_STORE", str(tmp_path / "kg"))
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip(), "a usage error says what is wrong"
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing written"


def test_unknown_extension_message_lists_the_formats(tmp_path: Path) -> None:
    result = run("export", EXAMPLES, "-o", tmp_path / "x.unknown")
    assert "--format" in result.stderr
    for fmt in ("turtle", "ntriples", "jsonld"):
        assert fmt in result.stderr


# -- store errors (4) -------------------------------------------------------------------------


def test_export_from_a_missing_store(tmp_path: Path) -> None:
    result = run("export", "--store", tmp_path / "missing", "-o", tmp_path / "x.ttl")
    assert result.exit_code == 4
    assert result.stderr.startswith("ontomap: error: no store at ")
    assert "ontomap build" in result.stderr
    assert not (tmp_path / "x.ttl").exists()


def test_build_into_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = run("build", EXAMPLES, "--store", tmp_path / "file")
    assert result.exit_code in (2, 4), result.output  # click refuses a file for a folder option
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"


def test_build_into_a_store_in_use(tmp_path: Path) -> None:
    with Store(tmp_path / "kg"):
        result = run("build", EXAMPLES, "--store", tmp_path / "kg")
    assert result.exit_code == 4
    assert "ontomap: error: another ontomap process (process " in result.stderr
    assert "is writing the store at" in result.stderr


# -- export -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "fmt"), [(".ttl", "turtle"), (".nt", "ntriples"), (".jsonld", "jsonld")]
)
def test_export_by_extension(tmp_path: Path, extension: str, fmt: str) -> None:
    output = tmp_path / f"findings{extension}"
    result = run("export", EXAMPLES, "-o", output)
    assert result.exit_code == 0, result.output
    assert f"wrote {output} ({fmt}, {len(_expected())} triples, 3 models)" in result.stdout
    assert_examples_graph(output.read_bytes(), fmt)
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name]


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld"])
def test_export_format_option(tmp_path: Path, fmt: str) -> None:
    output = tmp_path / "findings.txt"
    assert run("export", EXAMPLES, "--format", fmt, "-o", output).exit_code == 0
    assert_examples_graph(output.read_bytes(), fmt)
    assert run("export", EXAMPLES, "-f", fmt, "-o", tmp_path / "x.ttl").exit_code == 0
    assert_examples_graph((tmp_path / "x.ttl").read_bytes(), fmt)  # -f wins over .ttl


def test_export_to_stdout() -> None:
    result = run("export", EXAMPLES, "-o", "-")
    assert result.exit_code == 0
    assert_examples_graph(result.stdout_bytes, "turtle")
    jsonld = run("export", EXAMPLES, "-f", "jsonld", "-o", "-")
    assert_examples_graph(jsonld.stdout_bytes, "jsonld")


def test_export_with_base_iri(tmp_path: Path) -> None:
    base = "http://example.org/oifm/"
    result = run("export", EXAMPLES, "--base-iri", base, "-o", tmp_path / "x.nt")
    assert result.exit_code == 0
    data = (tmp_path / "x.nt").read_bytes()
    assert_examples_graph(data, "ntriples", base)
    assert f"<{base}OIFM_GMTS_005529>".encode() in data
    assert b"https://w3id.org/ontomap/id/" not in data


def test_export_bad_inputs_still_writes_the_good(tmp_path: Path) -> None:
    result = run("export", BROKEN, "-o", tmp_path / "x.nt")
    assert result.exit_code == 1
    assert len([line for line in result.stderr.splitlines() if ": error: " in line]) == 8
    data = (tmp_path / "x.nt").read_bytes()
    assert b"<https://w3id.org/ontomap/id/OIFM_TEST_000001>" in data


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld"])
def test_export_from_store_equals_direct_export(tmp_path: Path, fmt: str) -> None:
    assert run("build", EXAMPLES, "--store", tmp_path / "kg").exit_code == 0
    from_store = run("export", "--store", tmp_path / "kg", "-f", fmt, "-o", tmp_path / "store.out")
    assert from_store.exit_code == 0, from_store.output
    assert "3 models from" in from_store.stdout
    assert run("export", EXAMPLES, "-f", fmt, "-o", tmp_path / "direct.out").exit_code == 0
    assert_examples_graph((tmp_path / "store.out").read_bytes(), fmt)
    # consistency of two paths (store and direct), not an expected value: the same bytes
    assert (tmp_path / "store.out").read_bytes() == (tmp_path / "direct.out").read_bytes()


def test_export_replaces_an_existing_file(tmp_path: Path) -> None:
    output = tmp_path / "x.ttl"
    output.write_text("old", encoding="utf-8")
    result = run("export", EXAMPLES, "-o", output, "-q")
    assert result.exit_code == 0 and result.output == ""
    assert_examples_graph(output.read_bytes(), "turtle")


# -- real processes ---------------------------------------------------------------------------


def _process(
    *args: str | Path, cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("ONTOMAP_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        env=env,
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=300,
        check=False,
    )


def test_process_build_examples(tmp_path: Path) -> None:
    done = _process("build", EXAMPLES, "--store", "kg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert b"read 3 files: 3 models, 0 errors, 0 warnings" in done.stdout
    assert done.stderr == b""
    assert _ids(tmp_path / "kg") == EXAMPLE_IDS


def test_process_bad_inputs_and_quiet_progress(tmp_path: Path) -> None:
    done = _process("build", BROKEN, "--store", "kg", cwd=tmp_path)
    assert done.returncode == 1
    stderr = done.stderr.decode()
    assert b"\r" not in done.stderr and b"\x1b" not in done.stderr, "progress must stay quiet"
    for name, line in BROKEN_ERRORS.items():
        where = f"{BROKEN / name}:{line}: error: " if line else f"{BROKEN / name}"
        assert where in stderr, name
    assert "Traceback" not in stderr
    assert _ids(tmp_path / "kg") == ["OIFM_TEST_000001"]


def test_process_exit_codes(tmp_path: Path) -> None:
    assert _process("build", cwd=tmp_path).returncode == 2
    assert _process("export", EXAMPLES, "-o", "x.xyz", cwd=tmp_path).returncode == 2
    missing = _process("export", "--store", "missing", "-o", "x.ttl", cwd=tmp_path)
    assert missing.returncode == 4
    assert missing.stderr.startswith(b"ontomap: error: ") and b"Traceback" not in missing.stderr


def test_process_export_to_stdout(tmp_path: Path) -> None:
    done = _process("export", EXAMPLES, "-f", "ntriples", "-o", "-", cwd=tmp_path)
    assert done.returncode == 0
    assert_examples_graph(done.stdout, "ntriples")
    assert done.stderr == b""


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld"])
def test_process_exports_are_byte_identical_run_after_run(tmp_path: Path, fmt: str) -> None:
    """Determinism: two processes (each with its own hash seed) write the same bytes."""
    first, second = (
        _process("export", EXAMPLES, "-f", fmt, "-o", "-", cwd=tmp_path) for _ in range(2)
    )
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_process_export_into_a_closed_pipe(tmp_path: Path) -> None:
    """Like ``ontomap export … -o - | head -c 100``: exit 0, no traceback."""
    read_end, write_end = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # a pipe smaller than the output, so that writing blocks
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    process = subprocess.Popen(
        [sys.executable, "-m", "ontomap", "export", str(EXAMPLES), "-f", "ntriples", "-o", "-"],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        cwd=tmp_path,
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert reader.read(100).startswith(b"<")
    _stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr and b"BrokenPipeError" not in stderr


# -- progress ---------------------------------------------------------------------------------


def test_progress_is_silent_on_a_non_terminal() -> None:
    stream = io.StringIO()
    progress = Progress("reading", 3, stream=stream)
    assert not progress.enabled
    for _ in range(3):
        progress.advance()
    progress.close()
    assert stream.getvalue() == "" and progress.done == 3


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_overwrites_one_line_and_erases_it() -> None:
    stream = _Terminal()
    progress = Progress("reading", 3, stream=stream)
    assert progress.enabled
    progress.advance()
    assert re.fullmatch(r"\rreading 1/3\x1b\[K", stream.getvalue())
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")
    progress.close()  # closing twice writes nothing more
    assert stream.getvalue().count("\r") == 2


def test_messages_are_capped_with_a_count_of_the_rest(tmp_path: Path) -> None:
    capped = run("build", BROKEN, "--store", tmp_path / "kg", "--max-messages", "3")
    assert capped.exit_code == 1
    lines = capped.stderr.splitlines()
    assert len(lines) == 4, capped.stderr
    assert all(": error: " in line for line in lines[:3])
    # 8 errors and 1 warning in all: 3 shown
    assert lines[3] == "… and 5 more errors and 1 more warning (--max-messages 0 prints them all)"
    everything = run("build", BROKEN, "--store", tmp_path / "kg", "--max-messages", "0")
    assert len(everything.stderr.splitlines()) == 9
    assert "read 11 files: 1 model, 8 errors, 1 warning" in everything.stdout


def test_the_corpus_as_it_ships_builds(tmp_path: Path, corpus_defs: Path) -> None:
    """defs/, text/ and README.md together: the JSON models, nothing else, exit 0."""
    done = _process("build", corpus_defs.parent, "--store", "kg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out = done.stdout.decode()
    # what a folder read takes (README "build"): *.fm.json, *.json and *.md files, recursively
    read = [
        p for p in corpus_defs.parent.rglob("*") if p.is_file() and p.suffix in {".json", ".md"}
    ]
    ids = set()
    for path in corpus_defs.glob("*.json"):
        with path.open(encoding="utf-8") as handle:
            ids.add(json.load(handle)["oifm_id"])
    renderings = list((corpus_defs.parent / "text").glob("*.md"))
    assert (len(read), len(ids), len(renderings)) == (2_785, 2_382, 402)  # 2,382 + 402 + README
    assert f"read {len(read):,} files: {len(ids):,} models, 0 errors, 0 warnings" in out
    assert f"{len(renderings)} Markdown renderings of JSON models read as the same models" in out
    assert f"1 file holding no finding model left out ({corpus_defs.parent / 'README.md'})" in out
    assert _ids(tmp_path / "kg") == sorted(ids)


# -- standard input and output ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["solitary_pulmonary_nodule.fm.json", "diffuse_hepatic_calcifications.md"]
)
def test_a_model_on_standard_input_exports_as_its_file_does(tmp_path: Path, name: str) -> None:
    """``-`` reads one model, JSON or Markdown; without -o the export goes to standard output."""
    source = EXAMPLES / name
    piped = _process("export", "-", "-f", "ntriples", cwd=tmp_path, stdin=source.read_bytes())
    assert piped.returncode == 0, piped.stderr.decode()
    from_file = _process("export", source, "-f", "ntriples", cwd=tmp_path)
    assert piped.stdout == from_file.stdout  # consistency of two paths
    if name.endswith(".md"):
        if not oracle.CORPUS_DEFS.is_dir():
            pytest.skip(f"the seed example's JSON is in the shared corpus ({oracle.CORPUS_DEFS})")
        with (oracle.CORPUS_DEFS / "diffuse_hepatic_calcifications.fm.json").open() as handle:
            model = oracle.as_markdown_reads_it(json.load(handle))
    else:
        with source.open(encoding="utf-8") as handle:
            model = json.load(handle)
    got = set(rdflib.Graph().parse(data=piped.stdout, format="nt"))
    assert_triples(got, oracle.model_triples(model))  # type: ignore[arg-type]
    assert piped.stderr == b""
    turtle = _process("export", source, cwd=tmp_path)
    assert turtle.returncode == 0 and turtle.stdout.startswith(b"@prefix ")


def test_build_from_standard_input(tmp_path: Path) -> None:
    markdown = (EXAMPLES / "diffuse_hepatic_calcifications.md").read_bytes()
    done = _process("build", "-", "--store", "kg", cwd=tmp_path, stdin=markdown)
    assert done.returncode == 0, done.stderr.decode()
    assert b"read 1 file: 1 model, 0 errors" in done.stdout
    assert _ids(tmp_path / "kg") == ["OIFM_GMTS_005529"]


def test_bad_standard_input_is_named_stdin(tmp_path: Path) -> None:
    bad = _process("export", "-", cwd=tmp_path, stdin=b'{"name": "x"}\n')
    assert bad.returncode == 1
    assert bad.stderr.decode().startswith('<stdin>:1: error: not a finding model: no "oifm_id"')
    twice = _process("export", "-", "-", cwd=tmp_path, stdin=b"")
    assert twice.returncode == 1
    assert "<stdin>: error: standard input was already read: give '-' once" in (
        twice.stderr.decode()
    )


def test_validate_reads_standard_input(tmp_path: Path) -> None:
    bad = b'{\n  "oifm_id": "bad"\n}\n'
    done = _process("validate", "-", cwd=tmp_path, stdin=bad)
    assert done.returncode == 1
    out = done.stdout.decode()
    assert "<stdin>:2: structure/finding-id [bad]: invalid OIFM ID 'bad'" in out
    good = (EXAMPLES / "diffuse_hepatic_calcifications.md").read_bytes()
    assert _process("validate", "-", cwd=tmp_path, stdin=good).returncode == 0
