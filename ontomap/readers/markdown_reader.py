"""Reader for the Markdown rendering of a finding model (``*.md``), as the corpus writes it.

The layout (one model per file)::

    # Name—`OIFM_XXX_NNNNNN`
    **Synonyms:** a, b
    **Tags:** c, d
    Description of the finding.
    **Codes:** SYSTEM code display; SYSTEM code display
    ## Attributes
    ### Attribute name—`OIFMA_XXX_NNNNNN`
    Description of the attribute.
    **Codes**: SYSTEM code display; ...
    *(Select one)*              or  *(Select up to N)*
    - **value name**: value description
    _SYSTEM code display; SYSTEM code display_
    Mininum: 0                  (numeric attributes; "Minimum:" is accepted too)
    Maximum: 100
    Unit: mm
    ---
    **Contributors**
    - [Organisation](url) (CODE)        or  - Organisation (CODE)
    - Person Name (ORG) — [Email](mailto:someone@example.org) — [Link](https://example.org)

Value codes are numbered in the order of the bullets: ``OIFMA_….0``, ``.1``, ...
A code list is split where a code-system name starts an entry, not at every ``;``: a display
may contain ``;`` itself. An entry starts with a system the registry knows (key or alias), or
with an unknown ALL-CAPS word followed by a code containing a digit; such unknown systems are
kept and reported as warnings.

What the Markdown rendering cannot carry (so a model read from it differs from the JSON it was
rendered from in exactly these ways; nothing here is guessed):

- ``required`` of every attribute: it is not rendered, so it is read as ``None`` (unknown).
- The original case of finding and attribute names: they are rendered capitalised (first
  letter upper case, the rest lower case), and that capitalised text is kept as the name.
  Value names keep their case.
- ``github_username`` of a person: it is not rendered, so it is ``None``.
- ``max_selected`` of ``0``, ``None`` and ``1`` all render as ``*(Select one)*``, which is read
  as ``1``.
- A numeric ``maximum`` of ``0`` is not rendered (the renderer drops a falsy maximum), so it is
  read as ``None``. A minimum of ``0`` is kept.
- Whitespace (spaces, line breaks, blank lines) at the start and end of a description is not
  kept, and an empty description (or unit) is read as ``None``.
- A synonym or tag that itself contains ``", "`` comes back as several (the list is rendered
  joined with ``", "``).
- The order and duplicates of index codes are not significant (they are read in rendered
  order, which need not be the source order).
- ``anatomic_locations`` are not rendered, so they are empty.
- A person with neither an email nor a link renders like an organisation and is read as
  ``Organization(name, code=organization_code)``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from ontomap.errors import (
    InvalidIdentifierError,
    ModelReadError,
    ModelValidationError,
    NotAModelError,
)
from ontomap.model import (
    OIFM_ID_PATTERN,
    OIFMA_ID_PATTERN,
    Attribute,
    ChoiceAttribute,
    ChoiceValue,
    Contributor,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)
from ontomap.readers.common import Diagnostic, check_text, shown, unknown_system_warnings
from ontomap.readers.limits import MAX_NUMBER_LENGTH
from ontomap.readers.located import (
    MarkdownAttribute,
    MarkdownContributor,
    MarkdownRecord,
    MarkdownValue,
    WrittenCode,
)
from ontomap.terminology import default_registry

_TITLE_FORM = "'# Name—`OIFM_XXX_NNNNNN`'"
_ATTRIBUTE_FORM = "'### Name—`OIFMA_XXX_NNNNNN`'"
_CODES_FORM = "'SYSTEM code display; SYSTEM code display'"

# The patterns that end in free text are matched against lines without their trailing white
# space, not with a trailing ``\s*``: that keeps matching linear in the length of a line.

#: The title line and an attribute heading.
TITLE_RE = re.compile(r"# (?P<name>.*)—`(?P<id>[^`]*)`\s*")
ATTRIBUTE_RE = re.compile(r"### (?P<name>.*)—`(?P<id>[^`]*)`\s*")
_HEADING_RE = re.compile(r"#{1,6}(?:\s|$)")
_OIFM_RE = re.compile(OIFM_ID_PATTERN)
_OIFMA_RE = re.compile(OIFMA_ID_PATTERN)
_CODES_RE = re.compile(r"\*\*Codes(?::\*\*|\*\*:)(?P<codes>.*)")
_SYNONYMS_RE = re.compile(r"\*\*Synonyms:\*\*\s?(?P<items>.*)")
_TAGS_RE = re.compile(r"\*\*Tags:\*\*\s?(?P<items>.*)")
_SELECT_RE = re.compile(r"\*\(Select (?:one|up to (?P<n>[0-9]+))\)\*\s*")
#: A number as the renderer writes one (``5``, ``-2.5``, ``1e-05``): no ``nan``, ``inf``, ``1_0``.
_DECIMAL_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_VALUE_RE = re.compile(r"- \*\*(?P<name>.+?)\*\*(?::(?P<description>.*))?\s*")
_VALUE_CODES_RE = re.compile(r"_(?P<codes>.+)_\s*")
_NUMERIC_RE = re.compile(r"(?P<field>Mininum|Minimum|Maximum|Unit):(?P<value>.*)")
_PERSON_RE = re.compile(
    r"- (?P<name>.+?)(?: \((?P<org>[^()]*)\))?"
    r"(?: — \[Email\]\(mailto:(?P<email>[^()\s]*)\))?"
    r"(?: — \[Link\]\((?P<url>\S*)\))?"
)
# a link's URL never holds "](", so each candidate end of the name is tried once
_ORG_LINK_RE = re.compile(
    r"- \[(?P<name>.*?)\]\((?P<url>(?:(?!\]\()\S)*)\)(?: \((?P<code>[^()]*)\))?"
)
_ORG_PLAIN_RE = re.compile(r"- (?P<name>.+?)(?: \((?P<code>[^()]*)\))?")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_ALL_CAPS_RE = re.compile(r"[A-Z][A-Z0-9_-]*")
_DIGIT_RE = re.compile(r"[0-9]")


class _Attr:
    """Internal: the reading state of an attribute (until the next heading closes it)."""

    __slots__ = ("numeric_line", "record", "seen_structure")

    def __init__(self, record: MarkdownAttribute) -> None:
        #: What the attribute's lines say, and where (part of the file's record).
        self.record = record
        self.numeric_line = 0
        self.seen_structure = False

    @property
    def oifma_id(self) -> str:
        return self.record.oifma_id


def read_markdown(path: Path, text: str) -> tuple[FindingModel, list[Diagnostic]]:
    """Parse one finding model rendered as Markdown; raises :class:`ModelReadError` with a line.

    The result equals what :func:`~ontomap.readers.json_reader.read_json` gives for the JSON the
    Markdown was rendered from, except for the losses listed in this module's docstring.
    Text that is no text (a control character other than tab and line breaks, U+FFFE, U+FFFF)
    is an error; every other character is kept, U+0085 and U+2028 among them. The error is the
    first problem of the file's record (:func:`read_markdown_record`).
    """
    return markdown_model(read_markdown_record(path, text))


def read_markdown_record(path: Path, text: str) -> MarkdownRecord:
    """The located record of a Markdown file: what each line says and where each item is.
    Never raises for bad input: a problem on one line is recorded with its line and reading
    goes on, so the record locates every item of the file."""
    parser = _Parser(path, text)
    parser.parse(text)
    return parser.record


def markdown_model(record: MarkdownRecord) -> tuple[FindingModel, list[Diagnostic]]:
    """The model of a Markdown record, and the reader's warnings; raises the record's first
    problem (a :class:`ModelReadError` naming file and line) where it has any."""
    path = record.path
    if record.problems:
        raise record.problems[0]
    if record.title is None or record.name is None:  # a record made by hand
        raise NotAModelError(path, f"not a finding model: no heading of the form {_TITLE_FORM}", 1)
    attributes = tuple(_attribute(path, attribute) for attribute in record.attributes)
    title_line, oifm_id = record.title
    try:
        model = FindingModel(
            oifm_id=oifm_id,
            name=record.name,
            description=_text(record.description),
            synonyms=record.synonyms,
            tags=record.tags,
            contributors=tuple(_contributor(entry) for entry in record.people),
            attributes=attributes,
            index_codes=_codes(record.codes),
        )
    except (InvalidIdentifierError, ModelValidationError) as exc:
        raise ModelReadError(path, str(exc), title_line) from None
    return model, unknown_system_warnings(path, model, record.text)


def _codes(written: list[WrittenCode]) -> tuple[IndexCode, ...]:
    return tuple(IndexCode.of(system, code, display) for system, code, display in written)


def _contributor(entry: MarkdownContributor) -> Contributor:
    if entry.person:
        return Person(
            name=entry.name,
            email=entry.email or None,
            organization_code=entry.code or None,
            url=entry.url or None,
        )
    return Organization(name=entry.name, code=entry.code or None, url=entry.url or None)


def _attribute(path: Path, attribute: MarkdownAttribute) -> Attribute:
    """The model of an attribute of a record without problems (so its kind is known)."""
    description = _text(attribute.description)
    oifma_id = attribute.oifma_id
    try:
        if attribute.kind == "choice":
            values = tuple(
                ChoiceValue(
                    value_code=f"{oifma_id}.{position}",
                    name=value.name,
                    description=_text(value.description),
                    index_codes=_codes(value.codes),
                )
                for position, value in enumerate(attribute.choices)
            )
            return ChoiceAttribute(
                oifma_id=oifma_id,
                name=attribute.name,
                values=values,
                description=description,
                required=None,
                max_selected=attribute.max_selected if attribute.max_selected is not None else 1,
                index_codes=_codes(attribute.codes),
            )
        numeric = attribute.numeric
        unit = numeric.get("unit")
        return NumericAttribute(
            oifma_id=oifma_id,
            name=attribute.name,
            description=description,
            required=None,
            minimum=_num(numeric.get("minimum")),
            maximum=_num(numeric.get("maximum")),
            unit=unit if isinstance(unit, str) else None,
            index_codes=_codes(attribute.codes),
        )
    except (InvalidIdentifierError, ModelValidationError) as exc:
        raise ModelReadError(path, str(exc), attribute.heading) from None


class _Parser:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.split("\n")
        if self.lines[0].startswith("\ufeff"):
            self.lines[0] = self.lines[0][1:]
        self.record = MarkdownRecord(path, text, self.lines)

    def error(self, reason: str, line: int) -> ModelReadError:
        return ModelReadError(self.path, reason, line)

    def parse(self, text: str) -> None:
        """Fill in :attr:`record`."""
        record = self.record
        problems = record.problems
        try:
            check_text(self.path, text)
        except ModelReadError as exc:
            problems.append(exc)
        lines = self.lines
        count = len(lines)
        index = 0
        while index < count and not lines[index].strip():
            index += 1
        first = lines[index].rstrip("\r") if index < count else ""
        title = TITLE_RE.fullmatch(first)
        title_line = min(index, count - 1) + 1
        if title is None:
            hint = ""
            if "\r" in first:
                hint = (
                    " (its lines end with a carriage return alone: save it with LF or CRLF "
                    "line breaks)"
                )
            elif first.startswith("# ") and "OIFM_" in first:
                hint = (
                    f" (found {shown(first.strip())}: write the ID in backticks after an em "
                    "dash '—')"
                )
            reason = f"not a finding model: no heading of the form {_TITLE_FORM}{hint}"
            if "OIFM_" not in text:  # no ID anywhere: some other document
                problems.append(NotAModelError(self.path, reason, title_line))
            else:
                problems.append(self.error(reason, title_line))
            # locate the items anyway, from the first line that is a title
            found = next(
                (
                    (at, match)
                    for at in range(index, count)
                    if (match := TITLE_RE.fullmatch(lines[at].removesuffix("\r"))) is not None
                ),
                None,
            )
            if found is None:
                return
            index, title = found
            title_line = index + 1
        oifm_id = title["id"].strip()
        record.title = (title_line, oifm_id)
        record.name = title["name"]
        try:
            self.check_id("OIFM ID", oifm_id, _OIFM_RE, title_line)
        except ModelReadError as exc:
            problems.append(exc)

        description = record.description
        attr_lines: dict[str, int] = {}
        attr: _Attr | None = None
        header = record.header
        # "header" (before the attributes), "attributes", "footer" (after ---), "contributors"
        section = "header"

        for position in range(index + 1, count):
            line = lines[position].rstrip("\r")
            number = position + 1
            stripped = line.strip()
            head = line[:1]
            # a problem on one line is recorded and the next line is read
            try:
                if section == "contributors" or section == "footer":
                    if not stripped:
                        continue
                    if stripped == "**Contributors**":
                        section = "contributors"
                        continue
                    if section == "contributors" and head == "-":
                        record.contributors.append(number)
                        record.people.append(self.contributor(line, number))
                        continue
                    if head == "#" and (match := ATTRIBUTE_RE.fullmatch(line)) is not None:
                        # out of place, but an attribute heading all the same (its ID is checked)
                        record.attributes.append(MarkdownAttribute(number, match["id"].strip()))
                    raise self.error(
                        f"unexpected text after the attributes: {stripped[:60]!r} (expected "
                        "'**Contributors**' followed by lines '- [Organisation](url) (CODE)' or "
                        "'- Name (ORG) — [Email](mailto:…)')",
                        number,
                    )

                if head == "#" and _HEADING_RE.match(line):
                    if line.startswith("### "):
                        if attr is not None:
                            self.close(attr)
                        match = ATTRIBUTE_RE.fullmatch(line)
                        if match is None:
                            raise self.error(
                                f"attribute heading without an ID: {stripped[:60]!r} "
                                f"(expected {_ATTRIBUTE_FORM})",
                                number,
                            )
                        attr = _Attr(
                            MarkdownAttribute(number, match["id"].strip(), name=match["name"])
                        )
                        record.attributes.append(attr.record)
                        section = "attributes"
                        self.attribute_id(attr, attr_lines)
                        continue
                    if stripped == "## Attributes":
                        if attr is not None:
                            self.close(attr)
                            attr = None
                        section = "attributes"
                        continue
                    raise self.error(
                        f"unexpected heading {stripped[:60]!r}: expected '## Attributes' or an "
                        f"attribute heading of the form {_ATTRIBUTE_FORM}",
                        number,
                    )
                if (
                    stripped == "---" and section == "attributes"
                ) or stripped == "**Contributors**":
                    if attr is not None:
                        self.close(attr)
                        attr = None
                    if stripped == "---":
                        section = "footer"
                        continue
                    section = "contributors"
                    # a model without attributes: the rule before the contributors is no
                    # description
                    while description and description[-1].strip() in ("", "---"):
                        description.pop()
                    continue

                if attr is None:
                    # the finding's header, or between '## Attributes' and the first attribute
                    if head == "*":
                        match = _CODES_RE.fullmatch(line)
                        if match:
                            header.setdefault("index_codes", number)
                            record.codes.extend(self.codes(match["codes"], number))
                            continue
                        match = _SYNONYMS_RE.fullmatch(line)
                        if match:
                            header.setdefault("synonyms", number)
                            record.synonyms = _split_list(match["items"].rstrip())
                            continue
                        match = _TAGS_RE.fullmatch(line)
                        if match:
                            header.setdefault("tags", number)
                            record.tags = _split_list(match["items"].rstrip())
                            continue
                    if stripped and head != "#" and stripped != "---":
                        header.setdefault("description", number)
                    if line.startswith("- **") or _is_code_line(line):
                        what = "value bullet" if head == "-" else "code line"
                        raise self.error(
                            f"a {what} outside an attribute: expected it under an attribute "
                            f"heading of the form {_ATTRIBUTE_FORM}",
                            number,
                        )
                    if line.startswith("*(Select"):
                        raise self.error(
                            "a '*(Select …)*' line outside an attribute: expected it under an "
                            f"attribute heading of the form {_ATTRIBUTE_FORM}",
                            number,
                        )
                    if section == "attributes":
                        if stripped:
                            raise self.error(
                                f"unexpected text {stripped[:60]!r} before the first attribute: "
                                f"expected an attribute heading of the form {_ATTRIBUTE_FORM}",
                                number,
                            )
                        continue
                    if stripped or description:
                        description.append(line)
                    continue

                self.attribute_line(attr, line, stripped, head, number)
            except ModelReadError as exc:
                problems.append(exc)

        if attr is not None:
            self.close(attr)

    # -- attributes ------------------------------------------------------------------------

    def close(self, attr: _Attr) -> None:
        """Settle the kind of the attribute that ``attr`` read (a problem is recorded)."""
        located = attr.record
        is_choice = located.max_selected is not None or bool(located.choices)
        if is_choice and located.numeric:
            self.record.problems.append(
                self.error(
                    f"attribute {located.oifma_id} is both a choice ('*(Select …)*' or value "
                    f"bullets) and numeric ('Minimum:'/'Maximum:'/'Unit:' at line "
                    f"{attr.numeric_line}); it must be one of the two",
                    located.heading,
                )
            )
        elif is_choice or located.numeric:
            located.kind = "choice" if is_choice else "numeric"
        else:
            self.record.problems.append(
                self.error(
                    f"attribute {located.oifma_id} is neither a choice (no '*(Select one)*' / "
                    "'*(Select up to N)*' line and no '- **value**' bullets) nor numeric (no "
                    "'Minimum:', 'Maximum:' or 'Unit:' lines)",
                    located.heading,
                )
            )

    def attribute_id(self, attr: _Attr, seen: dict[str, int]) -> None:
        """Check the ID of a new attribute heading (valid, not seen before)."""
        oifma_id, number = attr.oifma_id, attr.record.heading
        self.check_id("attribute ID", oifma_id, _OIFMA_RE, number)
        if oifma_id in seen:
            raise self.error(
                f"attribute {oifma_id} appears twice (first at line {seen[oifma_id]}); "
                "each attribute needs its own ID",
                number,
            )
        seen[oifma_id] = number

    def attribute_line(self, attr: _Attr, line: str, stripped: str, head: str, number: int) -> None:
        located = attr.record
        if head == "-" and line.startswith("- **"):
            located.values.append(number)
            match = _VALUE_RE.fullmatch(line)
            if match is None:
                raise self.error(
                    f"malformed value bullet in attribute {attr.oifma_id}: expected "
                    "'- **value name**: description'",
                    number,
                )
            described = match["description"]
            located.choices.append(
                MarkdownValue(match["name"], [described] if described is not None else [])
            )
            attr.seen_structure = True
            return
        if head == "_":
            match = _VALUE_CODES_RE.fullmatch(line)
            if match is not None and _starts_entry(match["codes"]):
                if not located.choices:
                    raise self.error(
                        f"a code line outside a value: in attribute {attr.oifma_id} a line "
                        "'_SYSTEM code display_' must follow a value bullet '- **name**: …'",
                        number,
                    )
                located.value_codes.setdefault(len(located.choices) - 1, number)
                located.choices[-1].codes.extend(self.codes(match["codes"], number))
                return
        elif head == "*":
            match = _CODES_RE.fullmatch(line)
            if match is not None:
                located.fields.setdefault("index_codes", number)
                located.codes.extend(self.codes(match["codes"], number))
                attr.seen_structure = True
                return
            if line.startswith("*(Select"):
                located.fields.setdefault("max_selected", number)
                match = _SELECT_RE.fullmatch(line)
                if match is None:
                    raise self.error(
                        f"malformed selection line {shown(stripped)} in attribute "
                        f"{attr.oifma_id}: expected '*(Select one)*' or '*(Select up to N)*'",
                        number,
                    )
                digits = match["n"]
                if digits is not None and len(digits) > MAX_NUMBER_LENGTH:
                    raise self.error(
                        f"the selection count of attribute {attr.oifma_id} has {len(digits):,} "
                        f"digits: at most {MAX_NUMBER_LENGTH} are accepted",
                        number,
                    )
                located.max_selected = int(digits) if digits else 1
                attr.seen_structure = True
                return
        elif head and head in "MU":
            match = _NUMERIC_RE.fullmatch(line)
            if match is not None and not located.choices:
                self.numeric_field(attr, match["field"], match["value"].strip(), number)
                attr.seen_structure = True
                return
        if located.choices:
            # a continuation line of the last value's description
            located.choices[-1].description.append(line)
            return
        if stripped:
            located.fields.setdefault("description", number)
        if not attr.seen_structure:
            if stripped or located.description:
                located.description.append(line)
        elif stripped:
            raise self.error(
                f"unexpected text {stripped[:60]!r} in attribute {attr.oifma_id}: expected "
                "its '**Codes**:', '*(Select …)*', value bullets or 'Minimum:'/'Maximum:'/"
                "'Unit:' lines",
                number,
            )

    def numeric_field(self, attr: _Attr, field: str, raw: str, number: int) -> None:
        key = {"Mininum": "minimum", "Minimum": "minimum"}.get(field, field.lower())
        numeric = attr.record.numeric
        attr.record.fields.setdefault(key, number)
        if key in numeric:
            raise self.error(f"{field} is given twice in attribute {attr.oifma_id}", number)
        if not attr.numeric_line:
            attr.numeric_line = number
        if key == "unit":
            numeric[key] = raw or None
            return
        if not raw or raw == "None":
            numeric[key] = None
            return
        if _DECIMAL_RE.fullmatch(raw) is None:
            raise self.error(
                f"{field} of attribute {attr.oifma_id} must be a number or None, not "
                f"{shown(raw)}" + (" (a bound must be finite)" if _is_special(raw) else ""),
                number,
            )
        if len(raw) > MAX_NUMBER_LENGTH:
            raise self.error(
                f"{field} of attribute {attr.oifma_id} is written with {len(raw):,} "
                f"characters: at most {MAX_NUMBER_LENGTH} are accepted",
                number,
            )
        value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        if not math.isfinite(value):
            raise self.error(
                f"{field} of attribute {attr.oifma_id} is too large ({raw}; the largest number "
                "is about 1.8e308)",
                number,
            )
        numeric[key] = value

    # -- pieces ----------------------------------------------------------------------------

    def check_id(self, kind: str, value: str, regex: re.Pattern[str], number: int) -> None:
        if not regex.fullmatch(value):
            raise self.error(
                f"invalid {kind} {shown(value)}: expected the pattern {regex.pattern}", number
            )

    def codes(self, text: str, number: int) -> list[WrittenCode]:
        """Index codes of ``SYSTEM code display; SYSTEM code display``."""
        text = text.strip()
        if not text:
            return []
        registry = default_registry()
        # each entry: its pieces between ';' (more than one where a display holds a ';')
        entries: list[list[str]] = []
        for piece in text.split(";"):
            if entries and not _starts_entry(piece):
                last = entries[-1]
                if len(last) == 1 and len(last[0].split(None, 2)) < 3:
                    raise self.error(
                        f"malformed code list: {shown(piece.strip())} after ';' does not start "
                        f"with a code-system name (expected {_CODES_FORM})",
                        number,
                    )
                # a ';' inside the previous code's display
                last.append(piece)
            else:
                entries.append([piece])
        out: list[WrittenCode] = []
        spelled = self.record.spellings.setdefault(number, {})
        for pieces in entries:
            entry = ";".join(pieces)
            parts = _entry_parts(entry)
            system = parts[0] if parts else ""
            if " " not in system and (
                not _WORD_RE.fullmatch(system)
                or (registry.find(system) is None and not _ALL_CAPS_RE.fullmatch(system))
            ):
                raise self.error(
                    f"malformed code {shown(entry.strip())}: expected a code-system name (such as "
                    f"RADLEX or SNOMED) first, as in {_CODES_FORM}",
                    number,
                )
            if len(parts) < 2:
                raise self.error(
                    f"code of system {system} has no code: expected {_CODES_FORM}", number
                )
            out.append((system, parts[1], parts[2] if len(parts) > 2 else None))
            spelled.setdefault(parts[1], system)
        return out

    def contributor(self, line: str, number: int) -> MarkdownContributor:
        line = line.rstrip()
        match = _PERSON_RE.fullmatch(line)
        if match is not None and (match["email"] is not None or match["url"] is not None):
            return MarkdownContributor(
                match["name"], True, code=match["org"], email=match["email"], url=match["url"]
            )
        match = _ORG_LINK_RE.fullmatch(line) or _ORG_PLAIN_RE.fullmatch(line)
        if match is None:
            raise self.error(
                "malformed contributor: expected '- [Organisation](url) (CODE)', "
                "'- Organisation (CODE)' or '- Name (ORG) — [Email](mailto:…)'",
                number,
            )
        groups = match.groupdict()
        return MarkdownContributor(
            groups["name"], False, code=groups["code"], url=groups.get("url")
        )


def _entry_parts(entry: str) -> list[str]:
    """``SYSTEM code display`` split into its (at most three) parts.

    A system whose name is two words (``SNOMED CT``, an alias of the registry) is one part when
    its second word holds no digit (so it cannot be the code): ``SNOMED CT 10200004 Liver
    structure`` is the SNOMED code 10200004, not a code ``CT``.
    """
    parts = entry.split(None, 3)
    if (
        len(parts) >= 3
        and _DIGIT_RE.search(parts[1]) is None
        and default_registry().find(f"{parts[0]} {parts[1]}") is not None
    ):
        return [f"{parts[0]} {parts[1]}", *parts[2:]]
    return entry.split(None, 2)


def _starts_entry(piece: str) -> bool:
    """Whether ``piece`` (e.g. the text after a ``;``) starts a ``SYSTEM code`` entry."""
    parts = piece.split(None, 2)
    if len(parts) < 2 or not _WORD_RE.fullmatch(parts[0]):
        return False
    if default_registry().find(parts[0]) is not None:
        return True
    return bool(_ALL_CAPS_RE.fullmatch(parts[0]) and _DIGIT_RE.search(parts[1]))


def _is_code_line(line: str) -> bool:
    """Whether ``line`` is an italic code line ``_SYSTEM code display; …_``."""
    if not line.startswith("_"):
        return False
    match = _VALUE_CODES_RE.fullmatch(line)
    return match is not None and _starts_entry(match["codes"])


def _is_special(raw: str) -> bool:
    """Whether ``raw`` spells NaN or an infinity the way Python would read it."""
    return raw.lstrip("+-").lower() in ("nan", "inf", "infinity")


def _split_list(items: str) -> tuple[str, ...]:
    return tuple(items.split(", ")) if items else ()


def _text(lines: list[str]) -> str | None:
    text = "\n".join(lines).strip()
    return text or None


def _num(value: object) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None
