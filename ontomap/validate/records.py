"""One :class:`Record` per source file: its raw content, where its items are, and its model.

The structural checks need what the file says *before* the reader's own checks (a reader stops at
the first invalid ID; validation reports every one), so a JSON record keeps the parsed JSON as
it is. A Markdown file's located record (what each line says, the one parse of its layout)
locates its items; the checks run on the model made from it, in the JSON shape
(:func:`model_as_data`), with the system names as the file spells them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ontomap.errors import ModelReadError, NotAModelError
from ontomap.model import ChoiceAttribute, FindingModel, IndexCode, Person
from ontomap.readers import (
    STDIN,
    discover_named,
    format_of,
    read_file,
    read_stdin,
    read_text,
)
from ontomap.readers.common import Diagnostic, display_path
from ontomap.readers.json_reader import json_model, read_json_record
from ontomap.readers.limits import DEFAULT_MAX_FILE_SIZE
from ontomap.readers.markdown_reader import markdown_model, read_markdown_record
from ontomap.validate.locate import Locator, MarkdownLocator
from ontomap.validate.locate import Path as ItemPath


@dataclass(slots=True)
class Record:
    """A source file as validation sees it.

    ``data`` is the model in the JSON shape (``None`` where the file gives none: unreadable,
    invalid JSON, a Markdown file the reader rejected); ``model`` the reader's model (``None``
    where the reader failed, and then ``error`` says why).
    """

    path: Path
    format: str | None
    data: dict[str, Any] | None
    locator: Locator | None
    model: FindingModel | None
    error: Diagnostic | None
    warnings: tuple[Diagnostic, ...] = ()
    #: The file holds no finding model at all (a README beside the models).
    not_a_model: bool = False
    #: Computed results about this record, kept by the checks that need them more than once.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def file(self) -> str:
        """The path as reports show it (bytes of a name that are not UTF-8 as ``\\xNN``)."""
        return display_path(self.path)

    @property
    def oifm_id(self) -> str | None:
        """The model's ID as written (which need not be a valid one)."""
        if self.model is not None:
            return self.model.oifm_id
        if self.data is not None and isinstance(self.data.get("oifm_id"), str):
            return self.data["oifm_id"]
        if isinstance(self.locator, MarkdownLocator) and self.locator.title is not None:
            return self.locator.title[1]
        return None

    def line(self, path: ItemPath) -> int | None:
        """Line of the item at ``path`` (see :mod:`ontomap.validate.locate`)."""
        return self.locator.line(path) if self.locator is not None else None


def load_records(
    paths: Iterable[Path | str], *, max_file_size: int = DEFAULT_MAX_FILE_SIZE
) -> Iterator[Record]:
    """A record for each file under ``paths`` (folders recursively, as the readers find them;
    a file found inside a folder that holds no finding model at all, such as a README, is left
    out as :class:`~ontomap.readers.ModelStream` leaves it out)."""
    for path, named in discover_named(paths):
        record = load_record(path, max_file_size=max_file_size)
        if named or not record.not_a_model:
            yield record


def load_record(path: Path, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> Record:
    """Read one file; never raises for a bad file (its problem is in :attr:`Record.error`).

    The file is read once, as :func:`ontomap.readers.read_text` reads it (a regular file of at
    most ``max_file_size`` bytes): its text goes to the reader of its format (as
    :func:`ontomap.readers.read_file` does) and to the raw JSON / the locator.
    """
    if str(path) == STDIN:
        try:
            text = read_stdin(max_file_size=max_file_size)
        except ModelReadError as exc:
            return Record(path, None, None, None, None, Diagnostic.from_error(exc))
        return _record(path, "json" if text.lstrip().startswith("{") else "markdown", text)
    fmt = format_of(path)
    if fmt is None:
        # not a model file (or missing): read_file says which
        try:
            source, found = read_file(path, max_file_size=max_file_size)
        except ModelReadError as exc:
            return Record(path, fmt, None, None, None, Diagnostic.from_error(exc))
        return Record(path, fmt, None, None, source.model, None, tuple(found))
    try:
        text = read_text(path, max_file_size=max_file_size)
    except ModelReadError as exc:
        # missing, not a regular file, too large, unreadable or not UTF-8
        return Record(path, fmt, None, None, None, Diagnostic.from_error(exc))
    return _record(path, fmt, text)


def _record(path: Path, fmt: str, text: str) -> Record:
    """The record of a file of format ``fmt`` whose text is ``text``: the reader's located
    record (parsed once), and the model made from it."""
    if fmt == "json":
        located = read_json_record(path, text)
        try:
            model, found = json_model(located)
        except ModelReadError as exc:
            error = Diagnostic.from_error(exc)
            return Record(path, fmt, _object(located.data), located, None, error)
        return Record(path, fmt, _object(located.data), located, model, None, tuple(found))
    markdown = read_markdown_record(path, text)
    try:
        model, found = markdown_model(markdown)
    except ModelReadError as exc:
        return Record(
            path,
            fmt,
            None,
            markdown,
            None,
            Diagnostic.from_error(exc),
            not_a_model=isinstance(exc, NotAModelError),
        )
    return Record(path, fmt, model_as_data(model, markdown), markdown, model, None, tuple(found))


def _object(data: Any) -> dict[str, Any] | None:
    return data if isinstance(data, dict) else None


def model_as_data(model: FindingModel, locator: MarkdownLocator | None = None) -> dict[str, Any]:
    """A finding model in the JSON shape of the OIFM corpus (fields that are unset left out).

    With a Markdown ``locator``, index codes keep the system names as the Markdown file spells
    them (the model itself holds only the registry key).
    """

    def codes(codes: tuple[IndexCode, ...], path: ItemPath) -> list[dict[str, Any]]:
        line = locator.line(path) if locator is not None else None
        out = []
        for code in codes:
            spelled = locator.system_spelling(line, code.code) if locator is not None else None
            entry: dict[str, Any] = {"system": spelled or code.system, "code": code.code}
            if code.display is not None:
                entry["display"] = code.display
            out.append(entry)
        return out

    def put(target: dict[str, Any], key: str, value: Any) -> None:
        if value is not None and value != ():
            target[key] = list(value) if isinstance(value, tuple) else value

    data: dict[str, Any] = {"oifm_id": model.oifm_id, "name": model.name}
    put(data, "description", model.description)
    put(data, "synonyms", model.synonyms)
    put(data, "tags", model.tags)
    contributors = []
    for contributor in model.contributors:
        entry: dict[str, Any] = {"name": contributor.name}
        if isinstance(contributor, Person):
            put(entry, "email", contributor.email)
            put(entry, "github_username", contributor.github_username)
            put(entry, "organization_code", contributor.organization_code)
        else:
            put(entry, "code", contributor.code)
        put(entry, "url", contributor.url)
        contributors.append(entry)
    put(data, "contributors", tuple(contributors))
    attributes = []
    for i, attribute in enumerate(model.attributes):
        item: dict[str, Any] = {"oifma_id": attribute.oifma_id, "name": attribute.name}
        put(item, "description", attribute.description)
        item["type"] = attribute.kind
        put(item, "required", attribute.required)
        if isinstance(attribute, ChoiceAttribute):
            values = []
            for j, value in enumerate(attribute.values):
                entry = {"value_code": value.value_code, "name": value.name}
                put(entry, "description", value.description)
                if value.index_codes:
                    entry["index_codes"] = codes(
                        value.index_codes, ("attributes", i, "values", j, "index_codes")
                    )
                values.append(entry)
            item["values"] = values
            put(item, "max_selected", attribute.max_selected)
        else:
            put(item, "minimum", attribute.minimum)
            put(item, "maximum", attribute.maximum)
            put(item, "unit", attribute.unit)
        if attribute.index_codes:
            item["index_codes"] = codes(attribute.index_codes, ("attributes", i, "index_codes"))
        attributes.append(item)
    data["attributes"] = attributes
    if model.index_codes:
        data["index_codes"] = codes(model.index_codes, ("index_codes",))
    if model.anatomic_locations:
        data["anatomic_locations"] = codes(model.anatomic_locations, ("anatomic_locations",))
    return data
