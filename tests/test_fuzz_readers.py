"""Fuzzing the readers and the validator with mutated corpus files (hypothesis).

Real files of the shared corpus are truncated, have bytes flipped, get structural characters
inserted, lines dropped or repeated, or (JSON) a value swapped for one of another type. Whatever
comes out, the reader returns a model or raises :class:`ModelReadError` naming the file and a
line inside it, ``validate`` returns findings (an error wherever the reader refused the file),
nothing else escapes, and each file takes a bounded time. The runs are derandomized, so CI sees
the same examples every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ontomap.errors import ModelReadError
from ontomap.readers import read_file
from ontomap.validate import validate

#: Examples per property: each takes milliseconds, so a property runs in a few seconds.
EXAMPLES = 200
#: Bound on reading and validating one mutated file (a corpus file takes milliseconds).
SECONDS = 10.0

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=2 * SECONDS),  # a backstop: _check asserts SECONDS itself
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _sample(folder: Path, step: int) -> list[Path]:
    """Every ``step``-th file of a corpus folder, in name order (a fixed, varied sample)."""
    return sorted(folder.iterdir())[::step]


@pytest.fixture(scope="module")
def json_files(corpus_defs: Path) -> list[bytes]:
    return [path.read_bytes() for path in _sample(corpus_defs, 60)]


@pytest.fixture(scope="module")
def markdown_files(corpus_text: Path) -> list[bytes]:
    return [path.read_bytes() for path in _sample(corpus_text, 10)]


STRUCTURAL_JSON = ["[", "]", "{", "}", '"', ",", ":", "\\", "\\u", "-", "e", "0", "NaN", "\x00"]
STRUCTURAL_MARKDOWN = [
    "#",
    "### ",
    "- **",
    "**",
    "*(Select up to ",
    "_",
    "**Codes:** ",
    "—`",
    "`",
    ";",
    "---",
    "\n",
    "\r",
    "\x00",
    "\u2028",
    "\ufeff",
    "Minimum: ",
    "nan",
    "9" * 400,
]


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes, structural: list[str]) -> bytes:
    """One of: a truncation, byte flips, structural insertions, lines dropped or repeated."""
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "lines"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if kind == "insert":
        out = data
        for _ in range(draw(st.integers(1, 6))):
            at = draw(st.integers(0, len(out)))
            piece = draw(st.sampled_from(structural)).encode("utf-8")
            out = out[:at] + piece * draw(st.integers(1, 50)) + out[at:]
        return out
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()):
            del lines[at]
            if not lines:
                lines = [b""]
        else:
            lines.insert(at, lines[at])
    return b"\n".join(lines)


#: JSON values of every type, hostile ones included (huge integers, NaN and infinities, which
#: json.dumps writes as the tokens NaN and Infinity, lone surrogates, control characters).
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**120, max_value=10**130)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["\udc80", "\x00", "\u2028", "choice", "numeric", "OIFMA_GMTS_000001.0"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, at: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*at, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_paths(item, (*at, i)))
    return out


@st.composite
def type_swap(draw: st.DrawFn, data: bytes) -> bytes:
    """A JSON file with one value (anywhere) replaced by a value of any type."""
    document = json.loads(data)
    at = draw(st.sampled_from(_paths(document)[1:]))
    parent = document
    for key in at[:-1]:
        parent = parent[key]
    parent[at[-1]] = draw(JSON_VALUES)
    text = json.dumps(document, indent=draw(st.sampled_from([None, 2])))
    return text.encode("utf-8", "surrogatepass")


def _check(data: bytes, name: str) -> None:
    """The properties of the module docstring, for one mutated file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        lines = data.count(b"\n") + 1
        started = time.perf_counter()
        try:
            read_file(path)
            refused = False
        except ModelReadError as exc:
            refused = True
            assert exc.path == path
            assert exc.line is not None, str(exc)
            assert 1 <= exc.line <= lines, str(exc)
        report = validate([path])
        assert time.perf_counter() - started < SECONDS
        for finding in report.findings:
            assert finding.line is None or 1 <= finding.line <= lines, str(finding)
        if refused:
            assert not report.ok, "validate must report an error where the reader refuses"
        report.to_json().encode("utf-8")
        report.to_text().encode("utf-8")


@FUZZ
@given(data=st.data())
def test_mutated_json(json_files: list[bytes], data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(json_files))
    _check(data.draw(byte_mutation(original, STRUCTURAL_JSON)), "mutated.fm.json")


@FUZZ
@given(data=st.data())
def test_json_with_a_value_of_another_type(json_files: list[bytes], data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(json_files))
    _check(data.draw(type_swap(original)), "swapped.fm.json")


@FUZZ
@given(data=st.data())
def test_mutated_markdown(markdown_files: list[bytes], data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(markdown_files))
    _check(data.draw(byte_mutation(original, STRUCTURAL_MARKDOWN)), "mutated.md")


def test_mutated_files_beside_good_ones_through_the_cli(
    tmp_path: Path, json_files: list[bytes], markdown_files: list[bytes], corpus_defs: Path
) -> None:
    """Twenty mutated files and five good ones, exported in one run of ``ontomap export``."""
    folder = tmp_path / "in"
    folder.mkdir()
    good = sorted(corpus_defs.iterdir())[250::500]  # none of them among the mutated
    for path in good:
        (folder / path.name).write_bytes(path.read_bytes())
    mutated = byte_mutation(json_files[0], STRUCTURAL_JSON)
    examples: list[bytes] = []

    @settings(max_examples=20, deadline=None, derandomize=True, database=None)
    @given(mutated)
    def collect(example: bytes) -> None:
        examples.append(example)

    collect()
    for i, example in enumerate(examples):
        (folder / f"mutated_{i:02d}.fm.json").write_bytes(example)
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "ontomap", "export", folder, "-o", tmp_path / "out.nt"],
        env=environment,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert b"Traceback" not in done.stderr, done.stderr.decode("utf-8", "replace")
    assert done.returncode in (0, 1), done.stderr
    written = (tmp_path / "out.nt").read_text(encoding="utf-8")
    for path in good:
        assert json.loads(path.read_bytes())["oifm_id"] in written, path.name
