"""What changed between two releases of a finding-model corpus: models, attributes, values,
index codes, and the crosswalk they make.

Each side is a folder or file of models, a store, or ``git:REV`` of a corpus repository (read
with ``git archive``: no checkout, the working tree is never touched). :func:`diff` compares
the models by OIFM ID and returns a :class:`CorpusDiff` of typed :class:`Change` records, in
a stable order (model ID, then entity, then kind).

A **meaning change** is a change after which an ID or value code that data may already hold
denotes something else: a value code whose name now belongs to another value of the attribute
(swapped or renumbered values), a value or attribute renamed to a name that shares little with
the old one (:data:`RENAME_SIMILARITY`), a numeric attribute's unit or range changed, an
attribute turned from choice to numeric or back, and a choice attribute's ``max_selected``
changed. A rename that keeps the meaning (spelling, case, word order, a word more) is
``value-renamed`` / ``attribute-renamed``. See ``docs/diff.md``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ontomap.crosswalk import Crosswalk, CrosswalkPair, build_crosswalk, entities_of_model
from ontomap.errors import ExitCode, OntomapError
from ontomap.lexical import normalise, similarity
from ontomap.model import (
    Attribute,
    ChoiceAttribute,
    ChoiceValue,
    FindingModel,
    IndexCode,
    NumericAttribute,
)
from ontomap.readers import read_models
from ontomap.readers.common import Diagnostic

__all__ = [
    "KINDS",
    "RENAME_SIMILARITY",
    "Change",
    "CorpusDiff",
    "DiffSourceError",
    "Side",
    "diff",
    "diff_sides",
    "read_side",
]

#: Below this similarity of the old and new name's normal forms (0–1, see
#: :func:`ontomap.lexical.similarity`) a rename is a meaning change.
RENAME_SIMILARITY = 0.5

#: Every kind of change, in the order reports list them.
KINDS: tuple[str, ...] = (
    "model-added",
    "model-removed",
    "model-renamed",
    "model-moved",
    "model-details",
    "attribute-added",
    "attribute-removed",
    "attribute-renamed",
    "value-added",
    "value-removed",
    "value-renamed",
    "meaning-change",
    "required-changed",
    "code-added",
    "code-removed",
    "display-changed",
    "crosswalk-gained",
    "crosswalk-lost",
    "crosswalk-changed",
    "outlier-new",
    "outlier-fixed",
)
_KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}


class DiffSourceError(OntomapError):
    """A side that cannot be read at all: a missing path, an unknown git revision."""

    exit_code = ExitCode.STORE


@dataclass(frozen=True, slots=True)
class Change:
    """One change. ``model`` is the finding's OIFM ID (empty for crosswalk changes), ``entity``
    the ID, attribute ID or value code it is about (the two codes for a crosswalk pair),
    ``field`` what changed (``name``, ``unit``, ``index_codes``, ...), ``old``/``new`` the
    values before and after (``None`` where there is none), ``message`` one line for people."""

    kind: str
    model: str
    entity: str
    field: str | None
    old: str | None
    new: str | None
    message: str

    def sort_key(self) -> tuple[bool, str, bool, str, int, str, str]:
        """Models by ID (the crosswalk last), a model's own changes before its entities'."""
        return (
            not self.model,
            self.model,
            self.entity != self.model,
            self.entity,
            _KIND_ORDER[self.kind],
            self.field or "",
            self.new or "",
        )

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "model": self.model or None,
            "entity": self.entity,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "message": self.message,
        }


@dataclass
class Side:
    """One side of a diff: its models by OIFM ID, the file each came from (relative to the
    side's root), and the errors met reading it."""

    label: str
    models: dict[str, FindingModel]
    paths: dict[str, str]
    errors: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True)
class CorpusDiff:
    """The changes from ``old`` to ``new`` (labels of the sides), with the model counts."""

    old: str
    new: str
    old_models: int
    new_models: int
    changes: tuple[Change, ...]

    def counts(self) -> dict[str, int]:
        """How many changes of each kind (kinds with none left out), in :data:`KINDS` order."""
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.kind] = out.get(change.kind, 0) + 1
        return {kind: out[kind] for kind in KINDS if kind in out}

    def of(self, kinds: Iterable[str]) -> list[Change]:
        wanted = set(kinds)
        return [c for c in self.changes if c.kind in wanted]

    def by_model(self) -> dict[str, list[Change]]:
        """The changes grouped by model (crosswalk changes under ``""``, last)."""
        out: dict[str, list[Change]] = {}
        for change in self.changes:
            out.setdefault(change.model, []).append(change)
        crosswalk = out.pop("", None)
        if crosswalk is not None:
            out[""] = crosswalk
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "version": 1,
            "old": {"source": self.old, "models": self.old_models},
            "new": {"source": self.new, "models": self.new_models},
            "counts": self.counts(),
            "changes": [c.as_dict() for c in self.changes],
        }

    def to_text(self, colour: bool = False) -> str:
        def paint(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if colour else text

        lines = [f"{self.old} ({self.old_models} models) → {self.new} ({self.new_models} models)"]
        if not self.changes:
            lines.append("no changes")
        for model, changes in self.by_model().items():
            lines.append("")
            lines.append(paint(model or "crosswalk", "1"))
            for change in changes:
                code = (
                    "31"
                    if change.kind in _SEVERE or change.kind.endswith("removed")
                    else "32"
                    if change.kind.endswith("added") or change.kind == "crosswalk-gained"
                    else "33"
                )
                lines.append(f"  {paint(change.kind, code)}: {change.message}")
        if self.changes:
            summary = ", ".join(f"{n} {kind}" for kind, n in self.counts().items())
            lines.extend(["", f"{len(self.changes)} changes: {summary}"])
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        lines = [
            f"### Finding models: `{self.old}` → `{self.new}`",
            "",
            f"{self.old_models} → {self.new_models} models, {len(self.changes)} changes.",
        ]
        severe = self.of(_SEVERE)
        if severe:
            lines += ["", f"**{len(severe)} changes of meaning or of codes in use:**", ""]
            lines += [f"- `{c.model or c.entity}` {c.kind}: {_md(c.message)}" for c in severe]
        if self.changes:
            lines += ["", "| kind | count |", "|---|---:|"]
            lines += [f"| {kind} | {n} |" for kind, n in self.counts().items()]
        for model, changes in self.by_model().items():
            lines += ["", f"<details><summary>{_md(model or 'crosswalk')} ({len(changes)})"]
            lines[-1] += "</summary>"
            lines += ["", "| change | entity | old | new |", "|---|---|---|---|"]
            for c in changes:
                lines.append(
                    f"| {c.kind} | `{c.entity}` | {_md(c.old or '')} | {_md(c.new or '')} |"
                )
            lines += ["", "</details>"]
        return "\n".join(lines) + "\n"


#: What :func:`_one_sided` reports on: an attribute or a value (each has a name).
Named = Attribute | ChoiceValue

#: The kinds a reviewer must see first: meaning changes and codes taken away.
_SEVERE = frozenset({"meaning-change", "code-removed", "model-removed", "value-removed"})


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


# ------------------------------------------------------------------ reading the sides


def read_side(spec: str | Path, repo: Path | None = None) -> Side:
    """A side from a folder or file of models, a store folder, or ``git:REV`` (of ``repo``,
    else the current folder's repository). Raises :class:`DiffSourceError` when it cannot be
    read at all; a bad file is an error of the side (:attr:`Side.errors`), not a removal."""
    text = str(spec)
    if text.startswith("git:"):
        return _git_side(text[4:], repo or Path.cwd(), text)
    path = Path(text)
    if not path.exists():
        raise DiffSourceError(f"{text}: no such file or folder")
    from ontomap.store import Store, is_store

    if path.is_dir() and is_store(path):
        with Store(path, read_only=True) as store:
            models = {m.oifm_id: m for m in store.graph().models()}
            recorded = {oifm_id: info.path for oifm_id, info in store.sources().items()}
        root = os.path.commonpath([str(p) for p in recorded.values()]) if recorded else ""
        if recorded and len(recorded) == 1:
            root = str(Path(root).parent)
        paths = {k: os.path.relpath(str(p), root) if root else str(p) for k, p in recorded.items()}
        return Side(text, models, paths)
    return _files_side(path, text)


def _files_side(path: Path, label: str, root: Path | None = None) -> Side:
    report = read_models([path])
    base = root or (path if path.is_dir() else path.parent)
    models: dict[str, FindingModel] = {}
    paths: dict[str, str] = {}
    for source in report.models:
        models[source.model.oifm_id] = source.model
        paths[source.model.oifm_id] = Path(os.path.relpath(source.path, base)).as_posix()
    return Side(label, models, paths, list(report.errors))


def _git_side(rev: str, repo: Path, label: str) -> Side:
    if not rev:
        raise DiffSourceError(f"{label}: give a revision, e.g. git:HEAD or git:v1.0")
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", rev],
            capture_output=True,
            timeout=600,
        )
    except FileNotFoundError:
        raise DiffSourceError(f"{label}: git is not installed") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise DiffSourceError(f"{label}: git archive failed: {reason[-1] if reason else '?'}")
    with tempfile.TemporaryDirectory(prefix="ontomap-diff-") as tmp:
        root = Path(tmp)
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            members = [
                m
                for m in archive.getmembers()
                if m.isfile() and m.name.endswith((".fm.json", ".json", ".md"))
            ]
            archive.extractall(root, members=members, filter="data")
        side = _files_side(root, label, root)
        side.errors = [  # the files as the repository names them
            dataclasses.replace(e, path=Path(rev + ":" + os.path.relpath(e.path, root)))
            for e in side.errors
        ]
        return side


# ------------------------------------------------------------------ comparing


def diff(old: str | Path, new: str | Path, repo: Path | None = None) -> CorpusDiff:
    """The changes from side ``old`` to side ``new`` (see :func:`read_side`)."""
    return diff_sides(read_side(old, repo), read_side(new, repo))


def diff_sides(old: Side, new: Side) -> CorpusDiff:
    """The changes from ``old`` to ``new``."""
    changes: list[Change] = []
    for oifm_id in sorted(old.models.keys() | new.models.keys()):
        before, after = old.models.get(oifm_id), new.models.get(oifm_id)
        if before is None and after is not None:
            where = new.paths.get(oifm_id, "")
            changes.append(
                Change(
                    "model-added",
                    oifm_id,
                    oifm_id,
                    None,
                    None,
                    after.name,
                    f"{after.name!r} added ({where})",
                )
            )
        elif after is None and before is not None:
            changes.append(
                Change(
                    "model-removed",
                    oifm_id,
                    oifm_id,
                    None,
                    before.name,
                    None,
                    f"{before.name!r} removed ({old.paths.get(oifm_id, '')})",
                )
            )
        elif before is not None and after is not None:
            changes.extend(_model_changes(before, after))
            was, now = old.paths.get(oifm_id), new.paths.get(oifm_id)
            if was and now and was != now:
                changes.append(
                    Change(
                        "model-moved", oifm_id, oifm_id, "file", was, now, f"moved {was} → {now}"
                    )
                )
    changes.extend(_crosswalk_changes(_crosswalk(old), _crosswalk(new)))
    changes.sort(key=Change.sort_key)
    return CorpusDiff(old.label, new.label, len(old.models), len(new.models), tuple(changes))


def _renamed(kind: str, model: str, entity: str, old: str, new: str, what: str) -> Change:
    score = similarity(old, new)
    if score < RENAME_SIMILARITY:
        return Change(
            "meaning-change",
            model,
            entity,
            "name",
            old,
            new,
            f"{what} {entity} renamed {old!r} → {new!r} (similarity {score:.2f}): "
            "data holding this ID now means something else",
        )
    return Change(kind, model, entity, "name", old, new, f"{what} {entity}: {old!r} → {new!r}")


def _model_changes(old: FindingModel, new: FindingModel) -> Iterator[Change]:
    oid = old.oifm_id
    if old.name != new.name:
        yield Change(
            "model-renamed",
            oid,
            oid,
            "name",
            old.name,
            new.name,
            f"renamed {old.name!r} → {new.name!r}",
        )
    for name in ("description", "synonyms", "tags"):
        before, after = getattr(old, name), getattr(new, name)
        if name != "description":  # sets: a store (RDF) keeps no order of them
            before, after = tuple(sorted(before)), tuple(sorted(after))
        if before != after:
            yield Change(
                "model-details", oid, oid, name, _shown(before), _shown(after), f"{name} changed"
            )
    yield from _code_changes(oid, oid, "index_codes", old.index_codes, new.index_codes)
    yield from _code_changes(
        oid, oid, "anatomic_locations", old.anatomic_locations, new.anatomic_locations
    )
    before = {a.oifma_id: a for a in old.attributes}
    after = {a.oifma_id: a for a in new.attributes}
    yield from _one_sided(oid, "attribute", before, after)
    for aid in [a.oifma_id for a in new.attributes if a.oifma_id in before]:
        yield from _attribute_changes(oid, before[aid], after[aid])


def _one_sided(
    oid: str, what: str, before: Mapping[str, Named], after: Mapping[str, Named]
) -> Iterator[Change]:
    """``{what}-removed`` for the IDs only ``before`` has, then ``{what}-added`` for those
    only ``after`` has, each in its model's order."""
    for key, item in before.items():
        if key not in after:
            yield Change(
                f"{what}-removed",
                oid,
                key,
                None,
                item.name,
                None,
                f"{what} {key} {item.name!r} removed",
            )
    for key, item in after.items():
        if key not in before:
            yield Change(
                f"{what}-added",
                oid,
                key,
                None,
                None,
                item.name,
                f"{what} {key} {item.name!r} added",
            )


def _shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return str(value)


def _attribute_changes(oid: str, old: Attribute, new: Attribute) -> Iterator[Change]:
    aid = new.oifma_id
    if old.name != new.name:
        yield _renamed("attribute-renamed", oid, aid, old.name, new.name, "attribute")
    if bool(old.required) != bool(new.required):
        yield Change(
            "required-changed",
            oid,
            aid,
            "required",
            str(bool(old.required)),
            str(bool(new.required)),
            f"attribute {aid} {new.name!r} is now {'required' if new.required else 'optional'}",
        )
    yield from _code_changes(oid, aid, "index_codes", old.index_codes, new.index_codes)
    if type(old) is not type(new):
        yield Change(
            "meaning-change",
            oid,
            aid,
            "type",
            _kind(old),
            _kind(new),
            f"attribute {aid} {new.name!r} changed from {_kind(old)} to {_kind(new)}",
        )
        return
    if isinstance(old, NumericAttribute) and isinstance(new, NumericAttribute):
        for name in ("unit", "minimum", "maximum"):
            before, after = getattr(old, name), getattr(new, name)
            if before != after:
                yield Change(
                    "meaning-change",
                    oid,
                    aid,
                    name,
                    _shown(before),
                    _shown(after),
                    f"attribute {aid} {new.name!r}: {name} {before} → {after}",
                )
        return
    assert isinstance(old, ChoiceAttribute) and isinstance(new, ChoiceAttribute)
    if old.max_selected != new.max_selected:
        yield Change(
            "meaning-change",
            oid,
            aid,
            "max_selected",
            _shown(old.max_selected),
            _shown(new.max_selected),
            f"attribute {aid} {new.name!r}: max_selected {old.max_selected} → {new.max_selected}",
        )
    before = {v.value_code: v for v in old.values}
    after = {v.value_code: v for v in new.values}
    old_names = {normalise(v.name): v.value_code for v in old.values}
    yield from _one_sided(oid, "value", before, after)
    for value in new.values:
        was = before.get(value.value_code)
        if was is None:
            continue
        code = value.value_code
        if was.name != value.name:
            elsewhere = old_names.get(normalise(value.name))
            if elsewhere is not None and elsewhere != code:
                yield Change(
                    "meaning-change",
                    oid,
                    code,
                    "name",
                    was.name,
                    value.name,
                    f"value {code} was {was.name!r} and is now {value.name!r}, the "
                    f"old name of {elsewhere}: values swapped or renumbered",
                )
            else:
                yield _renamed("value-renamed", oid, code, was.name, value.name, "value")
        yield from _code_changes(oid, code, "index_codes", was.index_codes, value.index_codes)


def _kind(attribute: Attribute) -> str:
    return "choice" if isinstance(attribute, ChoiceAttribute) else "numeric"


def _code_key(code: IndexCode) -> tuple[str, str]:
    try:
        return (code.code_system.key, code.code)
    except OntomapError:
        return (code.system, code.code)


def _code_changes(
    oid: str, entity: str, name: str, old: Sequence[IndexCode], new: Sequence[IndexCode]
) -> Iterator[Change]:
    before = {_code_key(c): c for c in old}
    after = {_code_key(c): c for c in new}
    for key in sorted(before.keys() - after.keys()):
        code = before[key]
        yield Change(
            "code-removed",
            oid,
            entity,
            name,
            f"{key[0]} {key[1]}",
            None,
            f"{entity}: {key[0]} {key[1]} ({code.display or 'no display'}) removed"
            f"{' from the anatomic locations' if name == 'anatomic_locations' else ''}",
        )
    for key in sorted(after.keys() - before.keys()):
        code = after[key]
        yield Change(
            "code-added",
            oid,
            entity,
            name,
            None,
            f"{key[0]} {key[1]}",
            f"{entity}: {key[0]} {key[1]} ({code.display or 'no display'}) added"
            f"{' to the anatomic locations' if name == 'anatomic_locations' else ''}",
        )
    for key in sorted(before.keys() & after.keys()):
        was, now = before[key].display, after[key].display
        if was != now:
            yield Change(
                "display-changed",
                oid,
                entity,
                f"{key[0]} {key[1]}",
                was,
                now,
                f"{entity}: {key[0]} {key[1]} display {was!r} → {now!r}",
            )


# ------------------------------------------------------------------ the crosswalk


def _crosswalk(side: Side) -> Crosswalk:
    return build_crosswalk(e for m in side.models.values() for e in entities_of_model(m))


def _pair_key(pair: CrosswalkPair) -> tuple[str, str]:
    return (pair.source.curie, pair.target.curie)


def _evidence(pair: CrosswalkPair) -> str:
    cardinality = pair.cardinality or "-"
    return (
        f"{pair.status}, {pair.predicate or 'no predicate'}, {pair.paired.context_count} "
        f"contexts, share {pair.share:.2f}, {cardinality}"
        f"{', template' if pair.template else ''}{', outlier' if pair.outlier else ''}"
    )


def _crosswalk_changes(old: Crosswalk, new: Crosswalk) -> Iterator[Change]:
    before = {_pair_key(p): p for p in old.pairs}
    after = {_pair_key(p): p for p in new.pairs}
    for key in sorted(before.keys() - after.keys()):
        pair = before[key]
        yield Change(
            "crosswalk-lost",
            "",
            " ".join(key),
            None,
            _evidence(pair),
            None,
            f"{key[0]} and {key[1]} no longer index the same entities",
        )
    for key in sorted(after.keys() - before.keys()):
        pair = after[key]
        yield Change(
            "crosswalk-gained",
            "",
            " ".join(key),
            None,
            None,
            _evidence(pair),
            f"{key[0]} and {key[1]} now index the same entities ({_evidence(pair)})",
        )
        if pair.outlier:
            yield Change(
                "outlier-new",
                "",
                " ".join(key),
                None,
                None,
                _evidence(pair),
                f"{key[0]} – {key[1]} is a new outlier",
            )
    for key in sorted(before.keys() & after.keys()):
        was, now = before[key], after[key]
        if _evidence(was) != _evidence(now):
            yield Change(
                "crosswalk-changed",
                "",
                " ".join(key),
                "evidence",
                _evidence(was),
                _evidence(now),
                f"{key[0]} – {key[1]}: {_evidence(was)} → {_evidence(now)}",
            )
        if now.outlier and not was.outlier:
            yield Change(
                "outlier-new",
                "",
                " ".join(key),
                None,
                None,
                _evidence(now),
                f"{key[0]} – {key[1]} became an outlier",
            )
    for key in sorted(before.keys()):
        if before[key].outlier and (key not in after or not after[key].outlier):
            yield Change(
                "outlier-fixed",
                "",
                " ".join(key),
                None,
                _evidence(before[key]),
                None,
                f"{key[0]} – {key[1]} is no longer an outlier",
            )
