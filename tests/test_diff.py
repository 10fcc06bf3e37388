"""``ontomap diff``: every kind of change, made by hand to our own example model and found by
kind and location; git sides read without touching the working tree; the three formats."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CORPUS, EXAMPLES, ROOT

from ontomap.diff import KINDS, diff

MODEL = json.loads((EXAMPLES / "solitary_pulmonary_nodule.fm.json").read_text("utf-8"))
FID = MODEL["oifm_id"]
PRESENCE = MODEL["attributes"][0]  # choice: absent .0, present .1
SIZE = MODEL["attributes"][1]  # numeric, mm
LOCATION = MODEL["attributes"][2]  # choice, several values


def _cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        timeout=300,
    )


def _write(folder: Path, models: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(model, indent=2), "utf-8")
    return folder


def _attr(model: dict, index: int) -> dict:
    return model["attributes"][index]


def _swap_values(m: dict) -> None:
    values = _attr(m, 0)["values"]
    values[0]["name"], values[1]["name"] = values[1]["name"], values[0]["name"]


def _set(path: list[object], value: object) -> Callable[[dict], None]:
    def change(m: dict) -> None:
        node = m
        for key in path[:-1]:
            node = node[key]  # type: ignore[index]
        node[path[-1]] = value  # type: ignore[index]

    return change


def _drop_code(m: dict) -> None:
    _attr(m, 0)["values"][1]["index_codes"].pop()  # the SNOMED code of "present"


def _add_value(m: dict) -> None:
    values = _attr(m, 2)["values"]
    values.append({"value_code": f"{LOCATION['oifma_id']}.{len(values)}", "name": "lingula"})


def _remove_value(m: dict) -> None:
    _attr(m, 2)["values"].pop()


def _remove_attribute(m: dict) -> None:
    del m["attributes"][1]


def _add_attribute(m: dict) -> None:
    m["attributes"].append(
        {
            "oifma_id": "OIFMA_OMAP_000019",
            "name": "margin",
            "type": "choice",
            "values": [
                {"value_code": "OIFMA_OMAP_000019.0", "name": "smooth"},
                {"value_code": "OIFMA_OMAP_000019.1", "name": "spiculated"},
            ],
        }
    )


#: (name, change made to a copy of the model, the (kind, entity) it must give)
CASES: list[tuple[str, Callable[[dict], None], set[tuple[str, str]]]] = [
    ("rename", _set(["name"], "solitary lung nodule, single"), {("model-renamed", FID)}),
    ("description", _set(["description"], "changed"), {("model-details", FID)}),
    (
        "swap",
        _swap_values,
        {
            ("meaning-change", PRESENCE["values"][0]["value_code"]),
            ("meaning-change", PRESENCE["values"][1]["value_code"]),
        },
    ),
    ("unit", _set(["attributes", 1, "unit"], "cm"), {("meaning-change", SIZE["oifma_id"])}),
    ("range", _set(["attributes", 1, "maximum"], 50), {("meaning-change", SIZE["oifma_id"])}),
    (
        "max_selected",
        _set(["attributes", 2, "max_selected"], 1),
        {("meaning-change", LOCATION["oifma_id"])},
    ),
    (
        "value renamed far",
        _set(["attributes", 2, "values", 0, "name"], "pleural effusion"),
        {("meaning-change", LOCATION["values"][0]["value_code"])},
    ),
    (
        "value renamed near",
        _set(["attributes", 2, "values", 0, "name"], "Right upper lobe"),
        {("value-renamed", LOCATION["values"][0]["value_code"])},
    ),
    (
        "attribute renamed near",
        _set(["attributes", 1, "name"], "nodule size"),
        {("attribute-renamed", SIZE["oifma_id"])},
    ),
    (
        "required",
        _set(["attributes", 1, "required"], True),
        {("required-changed", SIZE["oifma_id"])},
    ),
    ("code removed", _drop_code, {("code-removed", PRESENCE["values"][1]["value_code"])}),
    (
        "display",
        _set(["attributes", 0, "values", 0, "index_codes", 0, "display"], "Absent"),
        {("display-changed", PRESENCE["values"][0]["value_code"])},
    ),
    (
        "value added",
        _add_value,
        {("value-added", f"{LOCATION['oifma_id']}.{len(LOCATION['values'])}")},
    ),
    ("value removed", _remove_value, {("value-removed", LOCATION["values"][-1]["value_code"])}),
    ("attribute removed", _remove_attribute, {("attribute-removed", SIZE["oifma_id"])}),
    ("attribute added", _add_attribute, {("attribute-added", "OIFMA_OMAP_000019")}),
]


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_change_is_found_by_kind_and_place(
    tmp_path: Path, name: str, change: Callable[[dict], None], expected: set[tuple[str, str]]
) -> None:
    new = copy.deepcopy(MODEL)
    change(new)
    old_dir = _write(tmp_path / "old", {"m.fm.json": MODEL})
    new_dir = _write(tmp_path / "new", {"m.fm.json": new})
    result = diff(old_dir, new_dir)
    model_changes = {(c.kind, c.entity) for c in result.changes if c.model}
    assert model_changes == expected, name
    assert all(c.model == FID for c in result.changes if c.model)


def test_no_change_no_report(tmp_path: Path) -> None:
    side = _write(tmp_path / "a", {"m.fm.json": MODEL})
    result = diff(side, _write(tmp_path / "b", {"m.fm.json": MODEL}))
    assert result.changes == () and result.old_models == result.new_models == 1


def test_added_removed_and_moved_models(tmp_path: Path) -> None:
    other = json.loads(json.dumps(MODEL).replace("OMAP_0000", "OMAP_0009"))
    third = json.loads(json.dumps(MODEL).replace("OMAP_0000", "OMAP_0008"))
    old = _write(tmp_path / "old", {"a.fm.json": MODEL, "b.fm.json": other})
    new = _write(tmp_path / "new", {"sub/a.fm.json": MODEL, "c.fm.json": third})
    found = {(c.kind, c.entity, c.old, c.new) for c in diff(old, new).changes if c.model}
    assert found == {
        ("model-moved", FID, "a.fm.json", "sub/a.fm.json"),
        ("model-removed", other["oifm_id"], other["name"], None),
        ("model-added", third["oifm_id"], None, third["name"]),
    }


def test_crosswalk_deltas(tmp_path: Path) -> None:
    """Dropping the SNOMED code of "present" loses its pairs with the other codes there."""
    new = copy.deepcopy(MODEL)
    _drop_code(new)
    result = diff(
        _write(tmp_path / "old", {"m.fm.json": MODEL}), _write(tmp_path / "new", {"m.fm.json": new})
    )
    lost = {c.entity for c in result.changes if c.kind == "crosswalk-lost"}
    # the value's other code, and no other entity lists sct:52101004 in this model
    assert lost == {"radlex:RID28472 sct:52101004"}
    assert all(not c.model for c in result.changes if c.kind.startswith("crosswalk"))


def test_cli_formats_and_fail_on(tmp_path: Path) -> None:
    new = copy.deepcopy(MODEL)
    _swap_values(new)
    old_dir = _write(tmp_path / "old", {"m.fm.json": MODEL})
    new_dir = _write(tmp_path / "new", {"m.fm.json": new})
    as_json = _cli("diff", old_dir, new_dir, "-f", "json")
    assert as_json.returncode == 0, as_json.stderr.decode()
    data = json.loads(as_json.stdout)
    assert data["version"] == 1 and data["counts"]["meaning-change"] == 2
    assert set(data["counts"]) <= set(KINDS)
    assert [c["kind"] for c in data["changes"]].count("meaning-change") == 2
    markdown = _cli("diff", old_dir, new_dir, "--format", "markdown").stdout.decode()
    assert markdown.startswith("### Finding models") and "| meaning-change | 2 |" in markdown
    text = _cli("diff", old_dir, new_dir).stdout.decode()
    assert "\x1b[" not in text and PRESENCE["values"][0]["value_code"] in text
    failed = _cli("diff", old_dir, new_dir, "--fail-on", "meaning-change,code-removed")
    assert failed.returncode == 1 and b"2 meaning-change" in failed.stderr
    passed = _cli("diff", old_dir, new_dir, "--fail-on", "code-removed")
    assert passed.returncode == 0
    usage = _cli("diff", old_dir, new_dir, "--fail-on", "no-such-kind")
    assert usage.returncode == 2 and b"meaning-change" in usage.stderr
    missing = _cli("diff", old_dir, tmp_path / "nope")
    assert missing.returncode == 4 and b"Traceback" not in missing.stderr


def test_a_broken_file_is_a_source_error_not_a_removal(tmp_path: Path) -> None:
    old_dir = _write(tmp_path / "old", {"m.fm.json": MODEL})
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    (new_dir / "m.fm.json").write_text('{"oifm_id": "OIFM_OMAP_000001", "name": ', "utf-8")
    done = _cli("diff", old_dir, new_dir)
    assert done.returncode == 4
    assert b"m.fm.json" in done.stderr and b"Traceback" not in done.stderr


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin",
        },
    )
    return done.stdout


def test_git_revisions_without_touching_the_working_tree(tmp_path: Path) -> None:
    repo = tmp_path / "corpus"
    _write(repo / "defs", {"m.fm.json": MODEL})
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    _git(repo, "tag", "v1.0")
    new = copy.deepcopy(MODEL)
    _swap_values(new)
    _write(repo / "defs", {"m.fm.json": new})
    _git(repo, "commit", "-qam", "swap")
    (repo / "defs" / "m.fm.json").write_text("{ uncommitted edit", "utf-8")  # dirty tree
    before = (repo / "defs" / "m.fm.json").read_bytes(), _git(repo, "status", "--porcelain")
    done = _cli("diff", "git:v1.0", "git:HEAD", "--repo", repo, "-f", "json")
    assert done.returncode == 0, done.stderr.decode()
    kinds = [c["kind"] for c in json.loads(done.stdout)["changes"] if c["model"]]
    assert kinds == ["meaning-change", "meaning-change"]
    assert (
        (repo / "defs" / "m.fm.json").read_bytes(),
        _git(repo, "status", "--porcelain"),
    ) == before
    unknown = _cli("diff", "git:v9", "git:HEAD", "--repo", repo)
    assert unknown.returncode == 4 and b"git archive failed" in unknown.stderr


def test_the_corpus_against_itself_and_one_swap(tmp_path: Path) -> None:
    if not CORPUS.exists():
        pytest.skip(f"the corpus is not at {CORPUS}")
    defs = CORPUS / "defs"
    same = diff(defs, defs)
    assert same.changes == () and same.old_models == len(list(defs.glob("*.fm.json")))


def test_a_store_side_equals_the_folder_it_was_built_from(tmp_path: Path) -> None:
    store = tmp_path / "kg"
    built = _cli("build", EXAMPLES, "--store", store, "-q")
    assert built.returncode == 0, built.stderr.decode()
    result = diff(EXAMPLES, store)
    assert result.changes == ()
    assert result.old_models == result.new_models == len(list(EXAMPLES.iterdir()))
    new = copy.deepcopy(MODEL)
    _swap_values(new)
    changed = diff(store, _write(tmp_path / "new", {"solitary_pulmonary_nodule.fm.json": new}))
    kinds = {(c.kind, c.entity) for c in changed.changes if c.model == FID}
    assert ("meaning-change", PRESENCE["values"][0]["value_code"]) in kinds
    assert {c.kind for c in changed.changes if c.model != FID and c.model} == {"model-removed"}


def test_order_colour_and_the_empty_report(tmp_path: Path) -> None:
    new = copy.deepcopy(MODEL)
    new["name"] = "a nodule, now renamed"
    _drop_code(new)
    _add_value(new)
    old_dir = _write(tmp_path / "old", {"m.fm.json": MODEL})
    new_dir = _write(tmp_path / "new", {"m.fm.json": new})
    changes = diff(old_dir, new_dir).changes
    kinds = [c.kind for c in changes]
    assert kinds[0] == "model-renamed"  # the model's own change before its entities'
    first_crosswalk = next(i for i, c in enumerate(changes) if not c.model)
    assert all(not c.model for c in changes[first_crosswalk:])  # the crosswalk last
    coloured = _cli("diff", old_dir, new_dir, "--color").stdout.decode()
    assert "\x1b[31mcode-removed\x1b[0m" in coloured
    assert "\x1b[32mvalue-added\x1b[0m" in coloured
    assert "\x1b[33mmodel-renamed\x1b[0m" in coloured
    assert "\x1b[1mOIFM_OMAP_000001\x1b[0m" in coloured
    same = _cli("diff", old_dir, old_dir).stdout.decode()
    assert same.splitlines()[-1] == "no changes" and "changes:" not in same


def test_a_value_added_beside_a_renamed_one(tmp_path: Path) -> None:
    new = copy.deepcopy(MODEL)
    values = _attr(new, 2)["values"]
    values.append({"value_code": f"{LOCATION['oifma_id']}.{len(values)}", "name": "lingula"})
    values[-2]["name"] = "pleural effusion"
    result = diff(
        _write(tmp_path / "old", {"m.fm.json": MODEL}), _write(tmp_path / "new", {"m.fm.json": new})
    )
    found = {(c.kind, c.entity) for c in result.changes if c.model}
    assert found == {
        ("value-added", f"{LOCATION['oifma_id']}.{len(values) - 1}"),
        ("meaning-change", LOCATION["values"][-1]["value_code"]),
    }


def test_a_value_inserted_first_is_read_by_position(tmp_path: Path) -> None:
    """Value codes out of order are read by position, as the reference package reads them:
    a value inserted first (whatever code it is written with) shifts every value, so each
    position whose name changed is a meaning change, and the last position is new."""
    new = copy.deepcopy(MODEL)
    values = _attr(new, 2)["values"]
    old_names = [v["name"] for v in values]
    values.insert(0, {"value_code": f"{LOCATION['oifma_id']}.99", "name": "lingula"})
    new_names = [v["name"] for v in values]
    result = diff(
        _write(tmp_path / "old", {"m.fm.json": MODEL}), _write(tmp_path / "new", {"m.fm.json": new})
    )
    found = {(c.kind, c.entity) for c in result.changes if c.model}
    prefix = LOCATION["oifma_id"]
    assert found == {
        *{
            ("meaning-change", f"{prefix}.{i}")
            for i, name in enumerate(old_names)
            if name != new_names[i]
        },
        ("value-added", f"{prefix}.{len(old_names)}"),
    }


def test_crosswalk_gained_when_a_code_is_added(tmp_path: Path) -> None:
    new = copy.deepcopy(MODEL)
    _drop_code(new)
    result = diff(
        _write(tmp_path / "old", {"m.fm.json": new}), _write(tmp_path / "new", {"m.fm.json": MODEL})
    )
    gained = [c for c in result.changes if c.kind == "crosswalk-gained"]
    assert [c.entity for c in gained] == ["radlex:RID28472 sct:52101004"]
    assert gained[0].old is None and "paired" in (gained[0].new or "")


def test_a_one_model_store_is_not_moved_from_its_file(tmp_path: Path) -> None:
    folder = _write(tmp_path / "defs", {"m.fm.json": MODEL})
    built = _cli("build", folder, "--store", tmp_path / "kg", "-q")
    assert built.returncode == 0, built.stderr.decode()
    assert diff(folder, tmp_path / "kg").changes == ()


def _copy(number: int) -> dict:
    return json.loads(json.dumps(MODEL).replace("OMAP_0000", f"OMAP_{number:03d}0"[:9]))


def test_a_wrong_code_fixed_changes_the_crosswalk_as_reasoned(tmp_path: Path) -> None:
    """Six copies of the model; in the last, "present" carries the SNOMED code of "absent".
    Fixing it removes that code and adds the right one there; the pair of "present"'s RadLex
    code with the wrong SNOMED code is lost; the wrong code, which was paired with both RadLex
    codes (n:1), is then paired with "absent"'s RadLex code only (1:1)."""
    wrong = _copy(7)
    present = wrong["attributes"][0]["values"][1]
    present["index_codes"][1] = {
        "system": "SNOMED",
        "code": "2667000",
        "display": "Absent (qualifier value)",
    }
    old = _write(
        tmp_path / "old", {f"m{i}.fm.json": _copy(i) for i in range(1, 6)} | {"w.fm.json": wrong}
    )
    new = _write(
        tmp_path / "new", {f"m{i}.fm.json": _copy(i) for i in range(1, 6)} | {"w.fm.json": _copy(7)}
    )
    changes = diff(old, new).changes
    value = present["value_code"]
    by_kind = {(c.kind, c.entity): c for c in changes}
    removed = by_kind[("code-removed", value)]
    assert (removed.old, removed.new) == ("SNOMED 2667000", None)
    assert "SNOMED 2667000 (Absent (qualifier value)) removed" in removed.message
    added = by_kind[("code-added", value)]
    assert (added.old, added.new) == (None, "SNOMED 52101004")
    assert "SNOMED 52101004 (Present (qualifier value)) added" in added.message
    lost = by_kind[("crosswalk-lost", "radlex:RID28472 sct:2667000")]
    assert lost.new is None and "radlex:RID28472 and sct:2667000 no longer" in lost.message
    changed = by_kind[("crosswalk-changed", "radlex:RID28473 sct:2667000")]
    assert changed.old is not None and changed.old.endswith("n:1")
    assert changed.new is not None and changed.new.endswith("1:1")
    assert "paired" in changed.old and "skos:" in changed.old
    assert {c.kind for c in changes} == {
        "code-added",
        "code-removed",
        "crosswalk-lost",
        "crosswalk-changed",
    }


def test_old_and_new_values_are_reported(tmp_path: Path) -> None:
    new = copy.deepcopy(MODEL)
    new["description"] = "changed"
    new["tags"] = [*MODEL["tags"], "extra"]
    _set(["attributes", 0, "values", 0, "index_codes", 0, "display"], "Absent")(new)
    old_dir = _write(tmp_path / "old", {"m.fm.json": MODEL})
    new_dir = _write(tmp_path / "new", {"m.fm.json": new})
    found = {(c.kind, c.field): (c.old, c.new) for c in diff(old_dir, new_dir).changes}
    assert found[("model-details", "description")] == (MODEL["description"], "changed")
    assert found[("model-details", "tags")] == (
        ", ".join(sorted(MODEL["tags"])),
        ", ".join(sorted([*MODEL["tags"], "extra"])),
    )
    assert found[("display-changed", "RADLEX RID28473")] == ("absent", "Absent")
    markdown = _cli("diff", old_dir, new_dir, "-f", "markdown").stdout.decode()
    assert "| display-changed | `OIFMA_OMAP_000010.0` | absent | Absent |" in markdown
    assert "changes of meaning" not in markdown  # nothing severe here
    text = _cli("diff", old_dir, new_dir).stdout.decode()
    assert "OIFMA_OMAP_000010.0: RADLEX RID28473 display 'absent' → 'Absent'" in text


def test_outliers_new_and_fixed(tmp_path: Path) -> None:
    """21 copies; in one, "present" carries the SNOMED code of "absent": that pairing holds
    1 of the RadLex code's 21 uses (under 5 %) while another holds 20 (over half), an outlier
    (docs/mappings.md). Fixing it fixes the outlier; making it makes one."""
    wrong = _copy(40)
    wrong["attributes"][0]["values"][1]["index_codes"][1] = {
        "system": "SNOMED",
        "code": "2667000",
        "display": "Absent (qualifier value)",
    }
    right = {f"m{i}.fm.json": _copy(i) for i in range(1, 21)}
    bad = _write(tmp_path / "bad", right | {"w.fm.json": wrong})
    good = _write(tmp_path / "good", right | {"w.fm.json": _copy(40)})
    pair = "radlex:RID28472 sct:2667000"
    fixed = {(c.kind, c.entity) for c in diff(bad, good).changes if not c.model}
    assert {("outlier-fixed", pair), ("crosswalk-lost", pair)} <= fixed
    assert not any(kind == "outlier-new" for kind, _ in fixed)
    made = {(c.kind, c.entity) for c in diff(good, bad).changes if not c.model}
    assert {("outlier-new", pair), ("crosswalk-gained", pair)} <= made
    assert not any(kind == "outlier-fixed" for kind, _ in made)
