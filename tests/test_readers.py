"""Tests of reading sources: discovery, per-file diagnostics, duplicates, --strict, formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, RESOURCES, SEED_MD

from ontomap.errors import DuplicateModelError, ModelReadError
from ontomap.model import IndexCode
from ontomap.readers import (
    ModelStream,
    ReadReport,
    discover,
    format_of,
    iter_models,
    read_file,
    read_models,
)

BROKEN = RESOURCES / "broken"
GOOD = BROKEN / "good_model.fm.json"
RENDERING = BROKEN / "nested" / "rendering_disagrees.md"
NOT_A_MODEL = BROKEN / "not_a_model.md"
SEED_JSON_NAME = "diffuse_hepatic_calcifications.fm.json"  # the JSON of SEED_MD

#: Every bad file in tests/resources/broken: (line of its one diagnostic, part of the message).
BROKEN_FILES = {
    "bad_oifm_id.fm.json": (3, "invalid OIFM ID 'OIFM_TOOLONGCODE_1'"),
    "bad_value_code.fm.json": (11, "invalid value code 'OIFMA_TEST_000004-1'"),
    "foreign_value_code.fm.json": (11, "does not belong to attribute OIFMA_TEST_000005"),
    "invalid_json.fm.json": (4, "invalid JSON"),
    "missing_id.fm.json": (1, 'no "oifm_id" field'),
    "nested/duplicate_id.fm.json": (2, "OIFM_TEST_000001 is defined again"),
    "not_utf8.fm.json": (3, "not UTF-8 text (byte 0xe9"),
    "truncated.fm.json": (8, "invalid JSON: Unterminated string"),
}


@pytest.fixture(scope="module")
def broken_report() -> ReadReport:
    return read_models([BROKEN])


def test_broken_folder_converts_the_good_file(broken_report: ReadReport) -> None:
    assert [s.model.oifm_id for s in broken_report.models] == ["OIFM_TEST_000001"]
    assert broken_report.models[0].path == GOOD
    assert broken_report.models[0].format == "json"
    # the good model, its disagreeing rendering, the file holding no model, the broken ones
    assert broken_report.files == 3 + len(BROKEN_FILES)
    assert not broken_report.ok
    assert [d.path for d in broken_report.warnings] == [RENDERING]
    assert broken_report.renderings == [RENDERING]
    assert broken_report.skipped == [NOT_A_MODEL]
    assert sorted(d.path.relative_to(BROKEN).as_posix() for d in broken_report.errors) == sorted(
        BROKEN_FILES
    )


def test_a_disagreeing_rendering_is_a_warning_at_its_first_difference(
    broken_report: ReadReport,
) -> None:
    (warning,) = broken_report.warnings
    assert warning.line == 1  # the heading holding the name that differs
    assert "name 'Test lesion again' here, 'Test lesion' in JSON" in warning.message
    assert f"differs from {GOOD}, whose model is used" in warning.message


def test_a_file_holding_no_model_is_an_error_when_named() -> None:
    report = read_models([NOT_A_MODEL])
    (error,) = report.errors
    assert error.line == 2 and "not a finding model" in error.message
    assert report.skipped == []


def test_a_broken_markdown_model_in_a_folder_is_still_an_error(tmp_path: Path) -> None:
    """Only a file without any OIFM ID is taken for some other document."""
    (tmp_path / "README.md").write_text("# Notes\n\nNothing to see.\n")
    (tmp_path / "broken.md").write_text("# Lesion OIFM_TEST_000002\n\nNo em dash.\n")
    report = read_models([tmp_path])
    assert report.skipped == [tmp_path / "README.md"]
    (error,) = report.errors
    assert error.path == tmp_path / "broken.md" and "write the ID in backticks" in error.message


def test_json_wins_over_a_markdown_rendering_read_first(tmp_path: Path, corpus_defs: Path) -> None:
    """A folder listing the rendering before its JSON: the stream gives the Markdown model,
    then the JSON one (a consumer keeps the later), and the report holds the JSON model."""
    shutil.copy(SEED_MD, tmp_path / "a.md")
    json_copy = tmp_path / "b" / "model.fm.json"
    json_copy.parent.mkdir()
    shutil.copy(corpus_defs / SEED_JSON_NAME, json_copy)
    stream = ModelStream([tmp_path])
    given = [(s.path, s.format) for s in stream]
    assert given == [(tmp_path / "a.md", "markdown"), (json_copy, "json")]
    assert [(s.path, s.format) for s in stream.report.models] == [(json_copy, "json")]
    assert stream.report.renderings == [tmp_path / "a.md"]
    assert stream.report.ok and stream.report.warnings == []


def test_the_corpus_as_it_ships_reads_as_its_json(corpus_defs: Path) -> None:
    root = corpus_defs.parent
    json_ids = {}
    for path in sorted(corpus_defs.glob("*.fm.json")):
        json_ids[json.loads(path.read_text(encoding="utf-8"))["oifm_id"]] = path
    markdown = sorted((root / "text").glob("*.md"))
    report = read_models([root])
    assert report.ok and report.warnings == [], [str(d) for d in report.diagnostics[:5]]
    assert {s.model.oifm_id: s.path for s in report.models} == json_ids
    assert len(report.models) == 2_382
    assert sorted(report.renderings) == markdown and len(markdown) == 402
    assert report.skipped == [root / "README.md"]
    assert report.files == 2_382 + 402 + 1


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_one_diagnostic_with_file_and_line(broken_report: ReadReport, name: str) -> None:
    line, reason = BROKEN_FILES[name]
    found = [d for d in broken_report.diagnostics if d.path == BROKEN / name]
    assert len(found) == 1, [str(d) for d in found]
    (diagnostic,) = found
    assert diagnostic.severity == "error"
    assert reason in diagnostic.message
    assert diagnostic.line == line, str(diagnostic)
    assert str(diagnostic) == f"{BROKEN / name}:{line}: error: {diagnostic.message}"


def test_duplicate_names_the_first_file(broken_report: ReadReport) -> None:
    (diagnostic,) = [d for d in broken_report.errors if d.path.name == "duplicate_id.fm.json"]
    assert str(GOOD) in diagnostic.message
    assert "keep one of the two files" in diagnostic.message


def test_duplicate_keeps_the_first_in_the_order_given(tmp_path: Path) -> None:
    report = read_models([BROKEN / "nested" / "duplicate_id.fm.json", GOOD])
    assert [s.path for s in report.models] == [BROKEN / "nested" / "duplicate_id.fm.json"]
    ((diagnostic),) = report.errors
    assert diagnostic.path == GOOD


def test_unknown_extension_named_explicitly() -> None:
    path = RESOURCES / "unknown_extension.txt"
    report = read_models([path, GOOD])
    assert [s.model.oifm_id for s in report.models] == ["OIFM_TEST_000001"]
    (diagnostic,) = report.diagnostics
    assert diagnostic.path == path and diagnostic.severity == "error"
    assert diagnostic.line is None
    assert "not a finding-model file" in diagnostic.message
    assert ".fm.json" in diagnostic.message and ".md" in diagnostic.message


def test_unknown_extension_inside_a_folder_is_not_taken() -> None:
    assert RESOURCES / "unknown_extension.txt" not in list(discover([RESOURCES]))


def test_missing_path_says_it_is_missing(tmp_path: Path) -> None:
    for missing in (tmp_path / "nope.fm.json", tmp_path / "no_such_folder"):
        report = read_models([missing])
        (diagnostic,) = report.errors
        assert diagnostic.path == missing
        assert "no such file or folder" in diagnostic.message, str(diagnostic)


def test_strict_raises_at_the_first_error() -> None:
    with pytest.raises(ModelReadError) as info:
        read_models([BROKEN], strict=True)
    assert info.value.path == BROKEN / "bad_oifm_id.fm.json"
    assert info.value.line == 3
    assert "invalid OIFM ID" in info.value.reason


def test_strict_raises_on_a_duplicate() -> None:
    with pytest.raises(DuplicateModelError) as info:
        read_models([GOOD, BROKEN / "nested" / "duplicate_id.fm.json"], strict=True)
    assert info.value.oifm_id == "OIFM_TEST_000001"
    assert (info.value.first, info.value.second) == (
        GOOD,
        BROKEN / "nested" / "duplicate_id.fm.json",
    )


def test_strict_reads_good_input() -> None:
    report = read_models([EXAMPLES], strict=True)
    assert report.ok and len(report.models) == 3


def test_iter_models_yields_one_outcome_per_file_and_never_raises() -> None:
    outcomes = list(iter_models([BROKEN, RESOURCES / "unknown_extension.txt"]))
    assert len(outcomes) == 12
    # good_model, the duplicate and the rendering (not yet judged)
    assert [o.ok for o in outcomes].count(True) == 3
    assert [o.path for o in outcomes if o.skipped] == [NOT_A_MODEL]
    for outcome in outcomes:
        assert outcome.ok == (outcome.model is not None)
        if not outcome.ok:
            assert len(outcome.diagnostics) == (0 if outcome.skipped else 1)


def test_model_stream_yields_good_models_and_collects_the_report(
    broken_report: ReadReport,
) -> None:
    stream = ModelStream([BROKEN])
    assert stream.report.files == 0  # nothing read before iterating
    iterator = iter(stream)
    first = next(iterator)
    assert first.model.oifm_id == "OIFM_TEST_000001"
    assert stream.report.files == 4  # bad_oifm_id, bad_value_code, foreign_value_code, good
    assert list(iterator) == []
    assert stream.report.diagnostics == broken_report.diagnostics
    assert stream.report.models == broken_report.models


def test_model_stream_strict_raises_while_iterating() -> None:
    stream = ModelStream([GOOD, BROKEN / "truncated.fm.json", EXAMPLES], strict=True)
    iterator = iter(stream)
    assert next(iterator).path == GOOD
    with pytest.raises(ModelReadError) as info:
        next(iterator)
    assert (info.value.path, info.value.line) == (BROKEN / "truncated.fm.json", 8)


def test_progress_callback_sees_every_file() -> None:
    seen: list[Path] = []
    read_models([BROKEN], progress=seen.append)
    assert seen == list(discover([BROKEN]))
    assert len(seen) == 3 + len(BROKEN_FILES)  # with the rendering and the non-model


# -- discovery --------------------------------------------------------------------------------


def test_discovery_is_recursive_sorted_and_skips_hidden_and_unclaimed(tmp_path: Path) -> None:
    seed_json = (EXAMPLES / "solitary_pulmonary_nodule.fm.json").read_text(encoding="utf-8")
    layout = {
        "z/y/deep.json": seed_json,
        "b.md": "",
        "b/c.md": "",
        "a.fm.json": "",
        "B_upper.markdown": "",
        "notes.txt": "",
        "table.csv": "",
        ".hidden.md": "",
        ".git/x.md": "",
        "b/.cache/y.fm.json": "",
    }
    for name, text in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["B_upper.markdown", "a.fm.json", "b/c.md", "b.md", "z/y/deep.json"]
    # the same order every time, and explicit files keep the order given
    assert [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])] == found
    named = [tmp_path / "notes.txt", tmp_path / "a.fm.json"]
    assert list(discover(named)) == named


def test_discovery_of_the_examples() -> None:
    assert [p.name for p in discover([EXAMPLES])] == [
        "diffuse_hepatic_calcifications.md",
        "glasgow_coma_scale_example.md",
        "solitary_pulmonary_nodule.fm.json",
    ]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.fm.json", "json"),
        ("a.json", "json"),
        ("A.FM.JSON", "json"),
        ("a.md", "markdown"),
        ("a.markdown", "markdown"),
        ("a.txt", None),
        ("a.json.bak", None),
        ("md", None),
    ],
)
def test_format_of(name: str, fmt: str | None) -> None:
    assert format_of(Path(name)) == fmt


# -- reading single files ---------------------------------------------------------------------


def test_read_file_seed_markdown() -> None:
    source, warnings = read_file(SEED_MD)
    assert warnings == []
    assert source.format == "markdown" and source.path == SEED_MD
    assert source.model.oifm_id == "OIFM_GMTS_005529"
    value = source.model.attributes[0].values[0]  # type: ignore[union-attr]
    assert value.value_code == "OIFMA_GMTS_963679.0"
    assert set(value.index_codes) == {
        IndexCode("RADLEX", "RID28473", "absent"),
        IndexCode("SNOMED", "2667000", "Absent (qualifier value)"),
    }


def test_seed_markdown_matches_the_corpus_copy(corpus_text: Path) -> None:
    assert SEED_MD.read_bytes() == (corpus_text / SEED_MD.name).read_bytes()


def test_plain_json_extension_and_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.read_bytes())
    source, _warnings = read_file(path)
    assert source.format == "json" and source.model.oifm_id == "OIFM_TEST_000001"


def test_read_file_raises_for_a_bad_file() -> None:
    with pytest.raises(ModelReadError) as info:
        read_file(BROKEN / "not_utf8.fm.json")
    assert info.value.line == 3
    assert "save the file as UTF-8" in info.value.reason


def test_not_utf8_line_counts_newlines_before_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_bytes(b"# Name\xe2\x80\x94`OIFM_TEST_000001`\n\n\nA caf\xe9\n")
    report = read_models([path])
    (diagnostic,) = report.errors
    assert diagnostic.line == 4 and "byte 0xe9" in diagnostic.message


def test_unknown_code_system_warns_and_keeps_the_code() -> None:
    path = RESOURCES / "unknown_system.fm.json"
    report = read_models([path])
    assert report.ok
    (warning,) = report.diagnostics
    assert (warning.severity, warning.path, warning.line) == ("warning", path, 6)
    assert "unknown code system 'FOOBAR'" in warning.message
    (source,) = report.models
    assert IndexCode("FOOBAR", "X-12", "something") in source.model.index_codes


def test_a_copy_of_the_broken_folder_reports_its_own_paths(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(BROKEN, copy)
    report = read_models([copy])
    assert {d.path.relative_to(copy).as_posix() for d in report.errors} == set(BROKEN_FILES)
    assert [s.path for s in report.models] == [copy / GOOD.name]
