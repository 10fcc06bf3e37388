"""Files that the ``findingmodel`` package (the OIFM reference implementation) accepts by filling
something in: ontomap reads them as the reference does, with a warning at the line.

The fixtures in ``tests/resources/reference-variants/`` are ours; the expected readings are
written by hand from the reference's documented rules (``finding_model.py`` of
openimagingdata/findingmodel: ``add_value_codes`` numbers every value ``{oifma_id}.{position}``;
``fix_max_selected_validator`` reads ``"all"`` and a number above the value count as the count,
and a false value as 1; ``MaxSelectedInt`` rejects what is left below 1). The expected lines
were counted in the fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from conftest import RESOURCES

from ontomap.cli import main
from ontomap.errors import ModelReadError
from ontomap.model import ChoiceAttribute, FindingModel
from ontomap.readers import read_file
from ontomap.readers.json_reader import REFERENCE_READING
from ontomap.validate import validate

VARIANTS = RESOURCES / "reference-variants"
BASE = "https://w3id.org/ontomap/id/"

#: file → (the rule validate reports, the lines it reports it at; the reader warns at the same)
ACCEPTED: dict[str, tuple[str, list[int]]] = {
    "values_without_codes.fm.json": ("structure/value-code-missing", [13, 17, 21, 32, 36]),
    "renumbered_values.fm.json": ("structure/value-renumbered", [11, 12, 13, 22, 23]),
    "max_selected_all.fm.json": ("structure/max-selected-all", [16]),
    "max_selected_zero.fm.json": ("structure/max-selected-zero", [14]),
    "max_selected_above.fm.json": ("structure/max-selected-above", [10]),
}

#: file → (the rule, its line): the reference rejects these, or ontomap stays stricter
REJECTED: dict[str, tuple[str, int]] = {
    "max_selected_negative.fm.json": ("structure/max-selected", 14),
    "max_selected_word.fm.json": ("structure/field-type", 14),
    "value_code_of_another_attribute.fm.json": ("structure/value-code", 12),
}


def _model(name: str) -> FindingModel:
    read, _warnings = read_file(VARIANTS / name)
    return read.model


def _choices(model: FindingModel) -> list[ChoiceAttribute]:
    attributes = [a for a in model.attributes if isinstance(a, ChoiceAttribute)]
    assert len(attributes) == len(model.attributes)
    return attributes


def test_the_fixture_folder_holds_exactly_these() -> None:
    assert {p.name for p in VARIANTS.iterdir()} == set(ACCEPTED) | set(REJECTED)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_the_reader_warns_at_each_line(name: str) -> None:
    _rule, lines = ACCEPTED[name]
    _read, warnings = read_file(VARIANTS / name)
    assert [w.line for w in warnings] == lines
    for warning in warnings:
        assert warning.severity == "warning"
        assert warning.path == VARIANTS / name
        assert "read as" in warning.message and warning.message.endswith(REFERENCE_READING)
        assert str(warning).startswith(f"{VARIANTS / name}:{warning.line}: warning: ")


def test_missing_value_codes_are_numbered_by_position() -> None:
    presence, change = _choices(_model("values_without_codes.fm.json"))
    assert [(v.value_code, v.name) for v in presence.values] == [
        ("OIFMA_TEST_000050.0", "absent"),
        ("OIFMA_TEST_000050.1", "present"),
        ("OIFMA_TEST_000050.2", "indeterminate"),
    ]
    assert presence.values[1].description == "The finding is present"
    assert [(v.value_code, v.name) for v in change.values] == [
        ("OIFMA_TEST_000051.0", "unchanged"),
        ("OIFMA_TEST_000051.1", "new"),  # "value_code": null
    ]
    assert (presence.max_selected, change.max_selected) == (1, 1)


def test_renumbered_value_codes_are_read_by_position() -> None:
    severity, margin = _choices(_model("renumbered_values.fm.json"))
    # written .2, .0, .1: the names keep their order, the codes are their positions
    assert [(v.value_code, v.name) for v in severity.values] == [
        ("OIFMA_TEST_000055.0", "mild"),
        ("OIFMA_TEST_000055.1", "moderate"),
        ("OIFMA_TEST_000055.2", "severe"),
    ]
    # written .0, .0, .5: a repeated code is no error either
    assert [(v.value_code, v.name) for v in margin.values] == [
        ("OIFMA_TEST_000056.0", "smooth"),
        ("OIFMA_TEST_000056.1", "lobulated"),
        ("OIFMA_TEST_000056.2", "spiculated"),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("max_selected_all.fm.json", 4),  # "all", 4 values
        ("max_selected_zero.fm.json", 1),  # 0
        ("max_selected_above.fm.json", 3),  # 7, 3 values
    ],
)
def test_max_selected_as_the_reference_reads_it(name: str, expected: int) -> None:
    (attribute,) = _choices(_model(name))
    assert attribute.max_selected == expected


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_validate_reports_the_warning_rule(name: str) -> None:
    rule, lines = ACCEPTED[name]
    report = validate([VARIANTS / name])
    found = sorted((f.rule, f.severity, f.line) for f in report.findings)
    assert found == [(rule, "warning", line) for line in lines]
    assert all(f.file == str(VARIANTS / name) for f in report.findings)
    assert report.models == 1
    assert report.exit_code() == 0
    assert report.exit_code(strict=True) == 1


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_what_the_reference_rejects_stays_an_error(name: str) -> None:
    rule, line = REJECTED[name]
    report = validate([VARIANTS / name])
    assert [(f.rule, f.severity, f.line) for f in report.findings] == [(rule, "error", line)]
    assert report.exit_code() == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("max_selected_word.fm.json", '"max_selected" must be a whole number or "all"'),
        ("value_code_of_another_attribute.fm.json", "does not belong to attribute"),
    ],
)
def test_the_reader_refuses_at_the_line(name: str, reason: str) -> None:
    with pytest.raises(ModelReadError) as caught:
        read_file(VARIANTS / name)
    assert reason in caught.value.reason
    assert (caught.value.path, caught.value.line) == (VARIANTS / name, REJECTED[name][1])
    assert str(caught.value).startswith(f"{VARIANTS / name}:{REJECTED[name][1]}: ")


def test_build_loads_each_variant_with_its_warnings(tmp_path: Path) -> None:
    files = [str(VARIANTS / name) for name in sorted(ACCEPTED)]
    result = CliRunner().invoke(main, ["build", *files, "--store", str(tmp_path / "kg")])
    assert result.exit_code == 0, result.output
    for name, (_rule, lines) in ACCEPTED.items():
        for line in lines:
            assert f"{VARIANTS / name}:{line}: warning: " in result.stderr
    assert "5 models, 0 errors, 13 warnings" in result.stdout


def test_export_gives_the_reference_reading(tmp_path: Path) -> None:
    out = tmp_path / "variants.nt"
    files = [str(VARIANTS / n) for n in ("renumbered_values.fm.json", "max_selected_all.fm.json")]
    result = CliRunner().invoke(main, ["export", *files, "-o", str(out)])
    assert result.exit_code == 0, result.output
    triples = list(ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES))
    labels = {
        t.subject.value: t.object.value
        for t in triples
        if t.predicate.value == "http://www.w3.org/2000/01/rdf-schema#label"
    }
    assert labels[f"{BASE}OIFMA_TEST_000056.1"] == "lobulated"
    assert labels[f"{BASE}OIFMA_TEST_000055.0"] == "mild"
    assert f"{BASE}OIFMA_TEST_000056.5" not in labels
    selected = {
        t.subject.value: t.object.value
        for t in triples
        if t.predicate.value.endswith("maxSelected")
    }
    assert selected[f"{BASE}OIFMA_TEST_000052"] == "4"
