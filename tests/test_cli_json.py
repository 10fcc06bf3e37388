"""``--json`` summaries of build, export and mappings: one JSON object on standard output,
its counts checked against the store, the files and the output they describe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES, ROOT

from ontomap.terminology import verhoeff_valid

BROKEN = ROOT / "tests" / "resources" / "broken"


def _cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        timeout=300,
    )


def _summary(done: subprocess.CompletedProcess) -> dict:
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1, done.stdout  # one object, one line
    return json.loads(lines[0])


def test_build_json(tmp_path: Path) -> None:
    store = tmp_path / "kg"
    done = _cli("build", EXAMPLES, "--store", store, "--json")
    assert done.returncode == 0, done.stderr.decode()
    summary = _summary(done)
    files = sorted(p for p in EXAMPLES.iterdir() if p.is_file())
    assert summary["command"] == "build" and summary["ok"] is True
    assert summary["read"]["files"] == summary["read"]["models"] == len(files)
    assert summary["store"]["added"] == len(files) and summary["store"]["replaced"] == 0
    assert summary["store"]["path"] == str(store)
    generation = summary["store"]["generation"]
    assert (store / "GENERATION").read_text().strip() == generation
    assert isinstance(summary["seconds"], float) and summary["diagnostics"] == []
    again = _summary(_cli("build", EXAMPLES, "--store", store, "--json"))
    assert again["store"]["replaced"] == len(files) and again["store"]["models"] == len(files)


def test_build_json_lists_every_diagnostic_with_file_and_line(tmp_path: Path) -> None:
    done = _cli("build", BROKEN, "--store", tmp_path / "kg", "--json", "--max-messages", "2")
    assert done.returncode == 1
    summary = _summary(done)
    assert summary["ok"] is False
    diagnostics = summary["diagnostics"]
    assert len(diagnostics) == summary["read"]["errors"] + summary["read"]["warnings"]
    assert len(diagnostics) > 2  # --max-messages caps what is printed, not the summary
    errors = {Path(d["file"]).name for d in diagnostics if d["severity"] == "error"}
    for name in ("invalid_json.fm.json", "truncated.fm.json", "missing_id.fm.json"):
        assert name in errors
    located = [d for d in diagnostics if d["file"].endswith("invalid_json.fm.json")]
    assert located and all(isinstance(d["line"], int) for d in located)


@pytest.mark.parametrize("fmt", ["turtle", "nquads"])
def test_export_json(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"x.{fmt}"
    done = _cli("export", EXAMPLES, "-o", out, "-f", fmt, "--json")
    assert done.returncode == 0, done.stderr.decode()
    summary = _summary(done)
    rdf = ox.RdfFormat.N_QUADS if fmt == "nquads" else ox.RdfFormat.TURTLE
    count = len(list(ox.parse(out.read_bytes(), format=rdf)))
    unit = "quads" if fmt == "nquads" else "triples"
    assert summary["output"] == {"path": str(out), "format": fmt, unit: count}
    assert summary["models"] == 3 and summary["read"]["models"] == 3


def test_json_needs_an_output_file() -> None:
    done = _cli("export", EXAMPLES, "--json")
    assert done.returncode == 2 and done.stdout == b""
    assert b"-o" in done.stderr and b"Traceback" not in done.stderr


def test_mappings_json(tmp_path: Path) -> None:
    out = tmp_path / "m.sssom.tsv"
    done = _cli("mappings", EXAMPLES, "-o", out, "--json")
    assert done.returncode == 0, done.stderr.decode()
    summary = _summary(done)
    rows = [
        line.split("\t")
        for line in out.read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    header, body = rows[0], rows[1:]
    predicates: dict[str, int] = {}
    for row in body:
        predicate = row[header.index("predicate_id")]
        predicates[predicate] = predicates.get(predicate, 0) + 1
    assert summary["mappings"]["total"] == len(body)
    assert summary["mappings"]["predicates"] == predicates
    assert summary["output"]["format"] == "sssom"


def test_build_names_the_models_validate_would_fault(tmp_path: Path) -> None:
    """A model with a wrong SNOMED CT check digit loads (it is readable), and the build says
    so; validate is the oracle for which ones. Values numbered out of order are read by
    their position (a warning), as the findingmodel package reads them: no problem left."""
    text = (EXAMPLES / "solitary_pulmonary_nodule.fm.json").read_text("utf-8")
    good = json.loads(text)
    folder = tmp_path / "defs"
    folder.mkdir()

    def write(name: str, model: dict, number: int) -> None:
        model = json.loads(json.dumps(model).replace("OMAP_000", f"OMAP_{number:03d}"))
        (folder / f"{name}.fm.json").write_text(json.dumps(model, indent=2), "utf-8")

    write("good", good, 1)
    digit = json.loads(text.replace('"2667000"', '"2667001"'))
    write("check_digit", digit, 2)
    order = json.loads(text)
    values = order["attributes"][0]["values"]
    values[0]["value_code"], values[1]["value_code"] = (
        values[1]["value_code"],
        values[0]["value_code"],
    )
    write("value_order", order, 3)
    # a check digit that fits but partition 01 (a description ID); and a system ontomap
    # does not know, which is not a malformed code
    description_id = next(
        f"10000{d}01{c}" for d in range(10) for c in range(10) if verhoeff_valid(f"10000{d}01{c}")
    )
    partition = json.loads(text.replace('"2667000"', f'"{description_id}"'))
    write("partition", partition, 4)
    unknown = json.loads(text)
    unknown["index_codes"] = [{"system": "NOSUCHSYSTEM", "code": "x y", "display": "z"}]
    write("unknown_system", unknown, 5)

    checked = _cli("validate", folder, "--format", "json")
    findings = json.loads(checked.stdout)["findings"]
    faulted = {
        Path(f["file"]).name
        for f in findings
        if f["severity"] == "error"
        and f["rule"] in {"code/check-digit", "code/syntax", "code/snomed-partition"}
    }
    assert faulted == {"check_digit.fm.json", "partition.fm.json"}
    renumbered = {Path(f["file"]).name for f in findings if f["rule"].endswith("renumbered")}
    assert renumbered == {"value_order.fm.json"}

    done = _cli("build", folder, "--store", tmp_path / "kg")
    assert done.returncode == 0, done.stderr.decode()
    assert (
        f"2 models have malformed codes or misnumbered values: run 'ontomap validate {folder}'"
        in done.stderr.decode()
    )
    summary = _summary(_cli("build", folder, "--store", tmp_path / "kg2", "--json"))
    assert {Path(p).name for p in summary["problems"]} == faulted
    quiet = _cli("build", folder / "good.fm.json", "--store", tmp_path / "kg3")
    assert b"malformed" not in quiet.stderr
