"""Hostile and accidental input: every bad file is one located error, the rest still converts.

Each case here once crashed a whole run (a traceback, so the good files were not converted
either), hung it, or let an ill-typed value through. Expected lines are computed here from the
text each test writes (where a token was put), never asked of the code under test.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import rdflib
from click.testing import CliRunner
from conftest import EXAMPLES, RESOURCES, ROOT

from ontomap.cli import main
from ontomap.errors import ModelReadError, OntomapError
from ontomap.exporters import serialize
from ontomap.graph import GraphBuilder
from ontomap.model import ChoiceAttribute, NumericAttribute
from ontomap.readers import DEFAULT_MAX_FILE_SIZE, read_file, read_models, read_text
from ontomap.readers.json_reader import read_json
from ontomap.readers.limits import MAX_NUMBER_LENGTH, parse_size
from ontomap.readers.markdown_reader import read_markdown
from ontomap.store import Store
from ontomap.validate import validate

GOOD = RESOURCES / "broken" / "good_model.fm.json"
GOOD_ID = "OIFM_TEST_000001"
EXAMPLE_IDS = {"OIFM_GMTS_005529", "OIFM_OMAP_000001", "OIFM_OMAP_000002"}
#: Generous bound for one small hostile file: a hang or a quadratic blow-up takes hours.
SECONDS = 10.0


def _line(text: str, needle: str) -> int:
    """1-based line of the first ``needle`` in ``text`` (the oracle for expected lines)."""
    return text[: text.index(needle)].count("\n") + 1


def _model(oifm_id: str = "OIFM_TEST_000002", **attribute: Any) -> dict[str, Any]:
    """A small valid model (as the json module will write it) with one numeric attribute."""
    numeric = {
        "oifma_id": "OIFMA_TEST_000009",
        "name": "size",
        "type": "numeric",
        "minimum": 0,
        "maximum": 10,
        "unit": "mm",
    }
    return {
        "oifm_id": oifm_id,
        "name": "hostile test lesion",
        "description": "A model that carries one hostile value",
        "attributes": [dict(numeric, **attribute)],
    }


def _with_token(token: str, **fields: Any) -> str:
    """A model whose numeric maximum is written as ``token`` (any JSON text)."""
    text = json.dumps(_model(maximum=424242, **fields), indent=2)
    return text.replace("424242", token)


def _read_error(path: Path) -> ModelReadError:
    started = time.perf_counter()
    with pytest.raises(ModelReadError) as info:
        read_file(path)
    assert time.perf_counter() - started < SECONDS
    assert info.value.path == path
    return info.value


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def _errors(report: Any) -> list[Any]:
    return [f for f in report.findings if f.severity == "error"]


# -- files that are not regular files, or too large -------------------------------------------


def _limited() -> None:
    """In a child process: at most 4 GiB of address space, so a runaway read fails fast."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def _ontomap(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the CLI in a child process, bounded in time and memory; (exit code, stderr)."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    environment.pop("ONTOMAP_STORE", None)
    done = subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        timeout=180,
        preexec_fn=_limited,
        check=False,
    )
    stderr = done.stderr.decode("utf-8", "backslashreplace")
    assert "Traceback" not in stderr, stderr
    return done.returncode, stderr


def test_a_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.fm.json")
    error = _read_error(tmp_path / "x.fm.json")
    assert "not a regular file but a FIFO" in error.reason and error.line is None


def test_a_symlink_to_dev_zero_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "zero.fm.json").symlink_to("/dev/zero")
    error = _read_error(tmp_path / "zero.fm.json")
    assert "character device (through a symbolic link)" in error.reason


def test_a_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "link.fm.json").symlink_to(GOOD)
    source, _warnings = read_file(tmp_path / "link.fm.json")
    assert source.model.oifm_id == GOOD_ID


def test_a_broken_symlink_says_so(tmp_path: Path) -> None:
    (tmp_path / "gone.fm.json").symlink_to(tmp_path / "missing.fm.json")
    report = read_models([tmp_path])
    (error,) = report.errors
    assert "broken symbolic link" in error.message and "missing.fm.json" in error.message


def test_a_folder_named_like_a_model_is_walked_not_read(tmp_path: Path) -> None:
    (tmp_path / "x.fm.json").mkdir()
    (tmp_path / "x.fm.json" / "good.fm.json").write_bytes(GOOD.read_bytes())
    report = read_models([tmp_path / "x.fm.json"])
    assert report.ok and [s.model.oifm_id for s in report.models] == [GOOD_ID]


def test_the_default_limit_is_far_above_the_corpus(corpus_defs: Path, corpus_text: Path) -> None:
    largest = max(p.stat().st_size for d in (corpus_defs, corpus_text) for p in d.iterdir())
    assert largest * 100 < DEFAULT_MAX_FILE_SIZE


def test_an_oversized_file_is_an_error_and_the_limit_can_be_raised(tmp_path: Path) -> None:
    size = GOOD.stat().st_size
    path = tmp_path / "good.fm.json"
    path.write_bytes(GOOD.read_bytes())
    with pytest.raises(ModelReadError) as info:
        read_text(path, max_file_size=size - 1)
    assert f"{size:,} bytes" in info.value.reason and "--max-file-size" in info.value.reason
    assert read_text(path, max_file_size=size) == GOOD.read_text(encoding="utf-8")
    report = read_models([path], max_file_size=size - 1)
    assert not report.models and len(report.errors) == 1
    assert read_models([path], max_file_size=size).ok


def test_a_large_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.fm.json"
    with path.open("wb") as handle:  # sparse: 64 GiB on paper, nothing on disk
        handle.truncate(64 << 30)
    started = time.perf_counter()
    report = read_models([path])
    assert time.perf_counter() - started < SECONDS
    (error,) = report.errors
    assert f"{64 << 30:,} bytes" in error.message


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="needs Linux's /proc")
def test_a_file_larger_than_it_says_is_read_only_to_the_limit(tmp_path: Path) -> None:
    # /proc files are regular files of size 0 that hold text: like a file that grows
    (tmp_path / "cpu.fm.json").symlink_to("/proc/cpuinfo")
    with pytest.raises(ModelReadError) as info:
        read_text(tmp_path / "cpu.fm.json", max_file_size=16)
    assert "grew, while it was read, past the limit of 16 bytes" in info.value.reason


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4194304", 4 << 20),
        ("512k", 512 << 10),
        ("4M", 4 << 20),
        ("4MiB", 4 << 20),
        ("1g", 1 << 30),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "4X", "-1", "0", "1.5M", "M", "9" * 40])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(OntomapError, match="invalid size"):
        parse_size(text)


def test_max_file_size_option_and_environment(tmp_path: Path) -> None:
    runner = CliRunner()
    size = GOOD.stat().st_size
    for command in (
        ["build", str(GOOD), "--store", str(tmp_path / "kg")],
        ["export", str(GOOD), "-o", str(tmp_path / "out.nt")],
        ["validate", str(GOOD)],
    ):
        small = runner.invoke(main, [*command, "--max-file-size", str(size - 1)])
        assert small.exit_code == 1, (command, small.output)
        assert f"{size:,} bytes, more than the limit" in small.output
        fits = runner.invoke(main, [*command, "--max-file-size", "1M"])
        assert fits.exit_code == 0, (command, fits.output)
        through_env = runner.invoke(main, command, env={"ONTOMAP_MAX_FILE_SIZE": str(size - 1)})
        assert through_env.exit_code == 1, (command, through_env.output)
        bad = runner.invoke(main, [*command, "--max-file-size", "lots"])
        assert bad.exit_code == 2 and "invalid size 'lots'" in bad.output


# -- names and encodings --------------------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_an_error_naming_it(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/bad\xff.fm.json"
    with open(raw, "wb") as handle:
        handle.write(GOOD.read_bytes())
    path = Path(os.fsdecode(raw))
    report = read_models([tmp_path])
    (error,) = report.errors
    assert error.path == path and "not valid UTF-8" in error.message
    assert str(error).startswith(f"{tmp_path}/bad\\xff.fm.json: error: ")
    found = validate([tmp_path])
    (finding,) = _errors(found)
    assert finding.file == f"{tmp_path}/bad\\xff.fm.json"
    json.loads(found.to_json())
    found.to_json().encode("utf-8")  # printable: no lone surrogates


def test_utf16_is_named(tmp_path: Path) -> None:
    path = tmp_path / "wide.fm.json"
    path.write_bytes(GOOD.read_text(encoding="utf-8").encode("utf-16"))
    error = _read_error(path)
    assert "not UTF-8 text (it is UTF-16)" in error.reason and error.line == 1


def test_crlf_and_a_bom_keep_lines_right(tmp_path: Path) -> None:
    text = _with_token('"ten"')
    path = _write(tmp_path / "crlf.fm.json", "\ufeff" + text.replace("\n", "\r\n"))
    error = _read_error(path)
    assert error.line == _line(text, '"ten"') and '"maximum" must be a number' in error.reason
    markdown = (EXAMPLES / "diffuse_hepatic_calcifications.md").read_text(encoding="utf-8")
    md = _write(tmp_path / "crlf.md", "\ufeff" + markdown.replace("\n", "\r\n"))
    expected = read_file(EXAMPLES / "diffuse_hepatic_calcifications.md")[0].model
    assert read_file(md)[0].model == expected


def test_a_second_bom_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "two.fm.json", "\ufeff\ufeff" + GOOD.read_text(encoding="utf-8"))
    error = _read_error(path)
    assert error.line == 1 and "invalid JSON" in error.reason


def test_cr_only_line_ends_are_an_error_with_a_hint(tmp_path: Path) -> None:
    markdown = (EXAMPLES / "diffuse_hepatic_calcifications.md").read_text(encoding="utf-8")
    error = _read_error(_write(tmp_path / "mac.md", markdown.replace("\n", "\r")))
    assert error.line == 1 and "line breaks" in error.reason


# -- JSON content ------------------------------------------------------------------------------


@pytest.mark.parametrize("opening", ["[", '{"a": '])
def test_deep_nesting_is_an_error_not_a_recursion_error(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = '{\n"oifm_id": "OIFM_TEST_000001",\n"deep":\n' + opening * 100_000 + "1"
    text += closing * 100_000 + "\n}\n"
    error = _read_error(_write(tmp_path / "deep.fm.json", text))
    assert error.line == 4 and "too deeply" in error.reason
    (finding,) = _errors(validate([tmp_path / "deep.fm.json"]))
    assert (finding.rule, finding.line) == ("read/unreadable", 4)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e400", "the number 1e400 is too large"),
        ("-1e400", "the number -1e400 is too large"),
        ("9" * 5000, "a number written with 5,000 characters"),
        ("0." + "1" * 5000, "a number written with 5,002 characters"),
        ("1" * (MAX_NUMBER_LENGTH + 1), f"at most {MAX_NUMBER_LENGTH} are accepted"),
    ],
)
def test_non_finite_and_oversized_numbers(tmp_path: Path, token: str, reason: str) -> None:
    text = _with_token(token)
    path = _write(tmp_path / "n.fm.json", text)
    error = _read_error(path)
    assert reason in error.reason
    assert error.line == _line(text, '"maximum"')
    (finding,) = _errors(validate([path]))
    assert (finding.rule, finding.line) == ("read/unreadable", error.line)


def test_a_number_at_the_length_limit_is_read(tmp_path: Path) -> None:
    token = "1" * MAX_NUMBER_LENGTH
    source, _warnings = read_file(_write(tmp_path / "n.fm.json", _with_token(token)))
    (attribute,) = source.model.attributes
    assert isinstance(attribute, NumericAttribute) and attribute.maximum == int(token)


def test_a_big_integer_in_max_selected(tmp_path: Path) -> None:
    data = json.loads(GOOD.read_text(encoding="utf-8"))
    text = json.dumps(data, indent=2).replace('"max_selected": 1', '"max_selected": ' + "9" * 5000)
    path = _write(tmp_path / "m.fm.json", text)
    assert _read_error(path).line == _line(text, '"max_selected"')


def test_a_value_code_with_5000_digits(tmp_path: Path) -> None:
    data = json.loads(GOOD.read_text(encoding="utf-8"))
    data["attributes"][0]["values"][1]["value_code"] = "OIFMA_TEST_000001." + "1" * 5000
    text = json.dumps(data, indent=2)
    path = _write(tmp_path / "v.fm.json", text)
    read_file(path)  # the pattern allows any number; it is read by position, as the reference
    (finding,) = validate([path]).findings
    assert (finding.rule, finding.severity, finding.line) == (
        "structure/value-renumbered",
        "warning",
        _line(text, "1" * 5000),
    )
    assert len(finding.message) < 300


@pytest.mark.parametrize("layout", ["one line", "indented"])
def test_a_large_json_file_is_read_in_linear_time(tmp_path: Path, layout: str) -> None:
    data = _model()
    data["description"] = "d" * 1_000_000
    data["synonyms"] = [f"synonym {i}" for i in range(100_000)] + [7]
    text = json.dumps(data, indent=None if layout == "one line" else 2)
    path = _write(tmp_path / "large.fm.json", text)
    error = _read_error(path)  # within SECONDS
    assert 'every entry of "synonyms" must be a string, not a number' in error.reason
    assert error.line == (1 if layout == "one line" else _line(text, "\n    7\n") + 1)
    started = time.perf_counter()
    errors = _errors(validate([path]))
    assert time.perf_counter() - started < 3 * SECONDS
    assert ("structure/field-type", error.line) in {(f.rule, f.line) for f in errors}


@pytest.mark.parametrize(
    ("escape", "what"),
    [
        ("\\udc80", "lone surrogate U+DC80"),
        ("\\ud800", "lone surrogate U+D800"),
        ("\\u0000", "control character U+0000"),
        ("\\u001b", "control character U+001B"),
        ("\\b", "control character U+0008"),
        ("\\f", "control character U+000C"),
        ("\\uffff", "non-character U+FFFF"),
    ],
)
def test_escapes_that_are_no_text(tmp_path: Path, escape: str, what: str) -> None:
    text = json.dumps(_model(), indent=2).replace('"size"', f'"si{escape}ze"')
    path = _write(tmp_path / "s.fm.json", text)
    error = _read_error(path)
    assert what in error.reason and error.line == _line(text, escape)
    (finding,) = _errors(validate([path]))
    assert (finding.rule, finding.line) == ("read/unreadable", error.line)


def test_a_lone_surrogate_in_a_field_name(tmp_path: Path) -> None:
    text = json.dumps(_model(), indent=2).replace('"unit"', '"un\\udc80it"')
    error = _read_error(_write(tmp_path / "k.fm.json", text))
    assert "field name holds a lone surrogate" in error.reason
    assert error.line == _line(text, "\\udc80")


def test_a_raw_non_character_in_a_string(tmp_path: Path) -> None:
    text = json.dumps(_model(), indent=2, ensure_ascii=False).replace('"size"', '"si\ufffeze"')
    error = _read_error(_write(tmp_path / "r.fm.json", text))
    assert "non-character U+FFFE" in error.reason and error.line == _line(text, "\ufffe")


def test_a_valid_surrogate_pair_and_line_separators_are_kept(tmp_path: Path) -> None:
    description = "spans\u2028lines\u0085and\u2029paragraphs \U0001f600"
    data = _model()
    data["description"] = description
    for ensure_ascii in (True, False):  # escaped (\ud83d\ude00, \u2028) and raw
        path = _write(tmp_path / "k.fm.json", json.dumps(data, ensure_ascii=ensure_ascii))
        source, _warnings = read_file(path)
        assert source.model.description == description
        assert not _errors(validate([path]))
    graph = GraphBuilder().graph([source.model])
    parsed = rdflib.Graph().parse(data=serialize(graph, "ntriples"), format="nt")
    assert rdflib.Literal(description) in set(parsed.objects())


def test_type_list_in_validate_is_a_finding_not_a_type_error(tmp_path: Path) -> None:
    data = json.loads(GOOD.read_text(encoding="utf-8"))
    data["attributes"][0]["type"] = ["choice"]
    text = json.dumps(data, indent=2)
    path = _write(tmp_path / "t.fm.json", text)
    line = _line(text, '"type"')
    assert _read_error(path).line == line
    assert ("structure/field-type", line) in {(f.rule, f.line) for f in _errors(validate([path]))}


#: A model with every field the readers know, each once (valid, and clean for validate).
RICH: dict[str, Any] = {
    "oifm_id": "OIFM_TEST_000001",
    "name": "test lesion",
    "description": "A lesion for testing hostile input",
    "synonyms": ["test mass"],
    "tags": ["test", "CT"],
    "contributors": [
        {
            "name": "Test Person",
            "email": "person@example.org",
            "github_username": "tester",
            "organization_code": "TEST",
            "url": "https://example.org/p",
        },
        {"name": "Test Organisation", "code": "TEST", "url": "https://example.org"},
    ],
    "attributes": [
        {
            "oifma_id": "OIFMA_TEST_000001",
            "name": "presence",
            "description": "Whether the lesion is there",
            "type": "choice",
            "required": True,
            "max_selected": 1,
            "values": [
                {
                    "value_code": "OIFMA_TEST_000001.0",
                    "name": "absent",
                    "description": "Not there",
                    "index_codes": [{"system": "SNOMED", "code": "2667000", "display": "Absent"}],
                },
                {"value_code": "OIFMA_TEST_000001.1", "name": "present"},
            ],
            "index_codes": [{"system": "RADLEX", "code": "RID28472", "display": "present"}],
        },
        {
            "oifma_id": "OIFMA_TEST_000002",
            "name": "size",
            "description": "Largest diameter",
            "type": "numeric",
            "required": False,
            "minimum": 0,
            "maximum": 100.5,
            "unit": "mm",
        },
    ],
    "index_codes": [{"system": "RADLEX", "code": "RID3874", "display": "lesion"}],
    "anatomic_locations": [{"system": "RADLEX", "code": "RID58", "display": "liver"}],
}

MARK = 987654321
#: JSON type → a value of that type holding the marker (a boolean cannot: see _swap_cases).
SWAPS: dict[str, Any] = {
    "string": str(MARK),
    "number": MARK,
    "boolean": True,
    "list": [MARK],
    "object": {"k": MARK},
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "list", dict: "object"}[type(value)]


def _paths(value: Any, at: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [at] if at else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*at, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_paths(item, (*at, i)))
    return out


def _get(data: Any, at: tuple[str | int, ...]) -> Any:
    for key in at:
        data = data[key]
    return data


def _set(data: Any, at: tuple[str | int, ...], value: Any) -> Any:
    copied = copy.deepcopy(data)
    _get(copied, at[:-1])[at[-1]] = value
    return copied


def _swap_cases() -> list[tuple[tuple[str | int, ...], str]]:
    cases = []
    for at in _paths(RICH):
        kind = _kind(_get(RICH, at))
        for swap in SWAPS:
            if swap == kind or (at[-1] == "code" and swap == "number"):  # a code may be a number
                continue
            cases.append((at, swap))
    return cases


def test_the_rich_model_is_clean(tmp_path: Path) -> None:
    path = _write(tmp_path / "rich.fm.json", json.dumps(RICH, indent=2))
    read_file(path)
    assert not _errors(validate([path]))


@pytest.mark.parametrize(("at", "swap"), _swap_cases(), ids=lambda v: "/".join(map(str, v)))
def test_every_field_of_the_wrong_json_type_is_a_located_error(
    tmp_path: Path, at: tuple[str | int, ...], swap: str
) -> None:
    """In build (the reader) and in validate, at the line of the member (or list item)."""
    marked = json.dumps(_set(RICH, at, SWAPS["number" if swap == "boolean" else swap]), indent=2)
    line = _line(marked, str(MARK)) - (1 if swap in ("list", "object") else 0)
    text = json.dumps(_set(RICH, at, SWAPS[swap]), indent=2)  # a boolean: same layout as the mark
    path = _write(tmp_path / "swap.fm.json", text)
    error = _read_error(path)
    assert error.line == line, str(error)
    errors = _errors(validate([path]))
    assert line in {f.line for f in errors}, [str(f) for f in errors]


@pytest.mark.parametrize("at", _paths(RICH), ids=lambda v: "/".join(map(str, v)))
def test_null_anywhere_is_read_or_a_located_error(
    tmp_path: Path, at: tuple[str | int, ...]
) -> None:
    path = _write(tmp_path / "null.fm.json", json.dumps(_set(RICH, at, None), indent=2))
    try:
        read_file(path)
    except ModelReadError as exc:
        assert exc.line is not None, str(exc)
        assert _errors(validate([path])), "validate must report what the reader rejects"


# -- Markdown content ---------------------------------------------------------------------------

HEAD = "# Test lesion—`OIFM_TEST_000001`\n\nA description.\n\n## Attributes\n\n"
NUMERIC = "### Size—`OIFMA_TEST_000001`\n\nMinimum: {}\nMaximum: 10\nUnit: mm\n"
SELECT = "### Presence—`OIFMA_TEST_000001`\n\n*(Select up to {})*\n- **absent**\n- **present**\n"


@pytest.mark.parametrize(
    ("minimum", "reason"),
    [
        ("nan", "must be a number or None, not 'nan' (a bound must be finite)"),
        ("NaN", "not 'NaN' (a bound must be finite)"),
        ("inf", "not 'inf' (a bound must be finite)"),
        ("-Infinity", "not '-Infinity' (a bound must be finite)"),
        ("1e400", "is too large (1e400"),
        ("9" * 5000, "is written with 5,000 characters"),
        ("1_000", "must be a number or None, not '1_000'"),
        ("\u0665", "must be a number or None"),  # an Arabic-Indic digit five
    ],
)
def test_markdown_bounds_must_be_finite_numbers(tmp_path: Path, minimum: str, reason: str) -> None:
    text = HEAD + NUMERIC.format(minimum)
    path = _write(tmp_path / "n.md", text)
    error = _read_error(path)
    assert reason in error.reason and error.line == _line(text, "Minimum:")
    (finding,) = _errors(validate([path]))
    assert (finding.rule, finding.line) == ("read/unreadable", error.line)


@pytest.mark.parametrize(("minimum", "value"), [("2.5", 2.5), ("-3", -3), ("1e-05", 1e-05)])
def test_markdown_bounds_as_rendered_are_read(tmp_path: Path, minimum: str, value: float) -> None:
    (attribute,) = read_file(_write(tmp_path / "n.md", HEAD + NUMERIC.format(minimum)))[
        0
    ].model.attributes
    assert isinstance(attribute, NumericAttribute) and attribute.minimum == value


def test_markdown_selection_count_with_5000_digits(tmp_path: Path) -> None:
    text = HEAD + SELECT.format("9" * 5000)
    error = _read_error(_write(tmp_path / "s.md", text))
    assert "5,000 digits" in error.reason and error.line == _line(text, "*(Select")
    (attribute,) = read_file(_write(tmp_path / "s.md", HEAD + SELECT.format("2")))[
        0
    ].model.attributes
    assert isinstance(attribute, ChoiceAttribute) and attribute.max_selected == 2


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b", "\x0c", "\x1f", "\ufffe"])
def test_markdown_characters_that_are_no_text(tmp_path: Path, char: str) -> None:
    text = HEAD.replace("A description.", f"A desc{char}ription.") + NUMERIC.format("0")
    error = _read_error(_write(tmp_path / "c.md", text))
    assert f"U+{ord(char):04X}" in error.reason and "(column 7)" in error.reason
    assert error.line == _line(text, char)


def test_markdown_keeps_line_separators_and_validate_counts_lines_like_the_reader(
    tmp_path: Path,
) -> None:
    description = "A desc\u2028rip\u0085tion\u2029."  # str.splitlines would break it 3 times
    text = HEAD.replace("A description.", description) + (
        "### Size—`OIFMA_TEST_000001`\n\nLargest\u2028diameter\n\nMinimum: 5\nMaximum: 1\n"
    )
    path = _write(tmp_path / "u.md", text)
    source, _warnings = read_file(path)
    assert source.model.description == description
    assert source.model.attributes[0].description == "Largest\u2028diameter"
    (finding,) = _errors(validate([path]))
    assert (finding.rule, finding.line) == ("structure/min-max", _line(text, "Minimum:"))


def _long_line_cases() -> dict[str, str]:
    n = 250_000  # a quadratic parse of such a line takes hours, a linear one a fraction of a second
    attribute = HEAD + SELECT.format("2")
    footer = attribute + "\n---\n\n**Contributors**\n"
    return {
        "codes-spaces": HEAD.replace("A description.", "**Codes:** RADLEX" + " " * n + "x"),
        "synonyms-spaces": HEAD.replace("A description.", "**Synonyms:** a" + " " * n + "x"),
        "tags-spaces": HEAD.replace("A description.", "**Tags:** a" + " " * n + "x"),
        "code-list-semicolons": HEAD.replace(
            "A description.", "**Codes:** RADLEX RID1 a" + ";x" * (n // 2)
        ),
        "many-unknown-systems": HEAD.replace(
            "A description.",
            "**Codes:** " + "; ".join(f"SYS{i:06d} C{i} d" for i in range(n // 20)),
        ),
        "person-spaces": footer + "- a" + " " * n + "x\n",
        "person-parentheses": footer + "- a" + " (b)" * (n // 4) + "\n",
        "organisation-links": footer + "- [" + "](x" * (n // 3) + "\n",
        "title-spaces": "# a" + " " * n + "x—`OIFM_TEST_000001`" + " " * n + "x\n",
        "value-stars": attribute + "- **" + "*" * n + "\n",
        "code-line": attribute + "_RADLEX RID1" + " " * n + "x_\n",
        "many-lines": attribute + "x\n" * n,
        "nested-bullets": attribute + "".join("  " * i + "- x\n" for i in range(700)),
        "nested-quotes": HEAD.replace("A description.", ">" * n + " x"),
        "nested-brackets": HEAD.replace("A description.", "[" * n + "x" + "]" * n),
    }


@pytest.mark.parametrize("case", sorted(_long_line_cases()))
def test_long_markdown_lines_take_linear_time(tmp_path: Path, case: str) -> None:
    path = _write(tmp_path / "long.md", _long_line_cases()[case])
    started = time.perf_counter()
    try:
        read_file(path)
    except ModelReadError as exc:
        assert exc.line is not None
    assert time.perf_counter() - started < SECONDS
    started = time.perf_counter()
    validate([path])
    assert time.perf_counter() - started < 3 * SECONDS


def test_many_unknown_systems_give_a_bounded_number_of_warnings(tmp_path: Path) -> None:
    codes = "; ".join(f"SYS{i:04d} C{i} d" for i in range(500))
    path = _write(tmp_path / "u.md", HEAD.replace("A description.", "**Codes:** " + codes))
    report = read_models([path])
    assert report.ok and len(report.warnings) == 21
    assert "480 more unknown code systems" in report.warnings[-1].message


def test_read_json_and_read_markdown_never_raise_other_errors_on_empty_input() -> None:
    for reader, name in ((read_json, "e.fm.json"), (read_markdown, "e.md")):
        for text in ("", "\n", "\ufeff", " " * 10, "\x00"):
            with pytest.raises(ModelReadError):
                reader(Path(name), text)


# -- through the command line ----------------------------------------------------------------


def _hostile_folder(root: Path) -> dict[str, int | None]:
    """A folder of hostile files beside the examples; file → the line of its error."""
    folder = root / "in"
    folder.mkdir()
    for example in EXAMPLES.iterdir():
        (folder / example.name).write_bytes(example.read_bytes())
    lines: dict[str, int | None] = {}
    os.mkfifo(folder / "fifo.fm.json")
    lines["fifo.fm.json"] = None
    (folder / "zero.fm.json").symlink_to("/dev/zero")
    lines["zero.fm.json"] = None
    _write(folder / "deep.fm.json", "[" * 100_000)
    lines["deep.fm.json"] = 1
    for name, token in (("nan", "NaN"), ("inf", "Infinity"), ("big", "9" * 5000)):
        text = _with_token(token, oifma_id=f"OIFMA_TEST_00001{len(lines)}")
        _write(folder / f"{name}.fm.json", text)
        lines[f"{name}.fm.json"] = _line(text, '"maximum"')
    text = json.dumps(dict(_model("OIFM_TEST_000003"), name="x\udc80"), indent=2)
    _write(folder / "surrogate.fm.json", text)
    lines["surrogate.fm.json"] = _line(text, '"name"')
    data = json.loads(GOOD.read_text(encoding="utf-8"))
    data["attributes"][0]["type"] = ["choice"]
    text = json.dumps(dict(data, oifm_id="OIFM_TEST_000004"), indent=2)
    _write(folder / "type.fm.json", text)
    lines["type.fm.json"] = _line(text, '"type"')
    text = HEAD + NUMERIC.format("nan")
    _write(folder / "nan.md", text)
    lines["nan.md"] = _line(text, "Minimum:")
    with open(os.fsencode(folder) + b"/bad\xff.fm.json", "wb") as handle:
        handle.write(json.dumps(_model("OIFM_TEST_000005")).encode())
    lines["bad\\xff.fm.json"] = None
    return lines


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int | None]]:
    root = tmp_path_factory.mktemp("hostile")
    return root, _hostile_folder(root)


def _check_errors(stderr: str, folder: Path, lines: dict[str, int | None]) -> None:
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    assert len(errors) == len(lines), stderr
    for name, line in lines.items():
        where = f"{folder / name}:{line}: error: " if line else f"{folder / name}: error: "
        assert any(e.startswith(where) for e in errors), (where, stderr)


def test_cli_build_converts_the_good_files_beside_hostile_ones(
    hostile: tuple[Path, dict[str, int | None]],
) -> None:
    root, lines = hostile
    code, stderr = _ontomap("build", root / "in", "--store", root / "kg", cwd=root)
    assert code == 1
    _check_errors(stderr, root / "in", lines)
    with Store(root / "kg", read_only=True) as store:
        assert set(store.model_ids()) == EXAMPLE_IDS


def test_cli_export_converts_the_good_files_beside_hostile_ones(
    hostile: tuple[Path, dict[str, int | None]],
) -> None:
    root, lines = hostile
    code, stderr = _ontomap("export", root / "in", "-o", root / "out.nt", cwd=root)
    assert code == 1
    _check_errors(stderr, root / "in", lines)
    written = (root / "out.nt").read_text(encoding="utf-8")
    for oifm_id in EXAMPLE_IDS:
        assert oifm_id in written
    assert "OIFM_TEST_00000" not in written and '"NaN"' not in written


def test_cli_validate_reports_each_hostile_file(
    hostile: tuple[Path, dict[str, int | None]],
) -> None:
    root, lines = hostile
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "ontomap", "validate", root / "in", "--format", "json"],
        cwd=root,
        env=environment,
        capture_output=True,
        timeout=180,
        preexec_fn=_limited,
        check=False,
    )
    assert done.returncode == 1 and b"Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    found = {
        (Path(f["file"]).name, f["line"]) for f in report["findings"] if f["severity"] == "error"
    }
    for name, line in lines.items():
        assert (name, line) in found, (name, line, sorted(found))
    assert report["summary"]["models"] == len(EXAMPLE_IDS)
