"""The validation rules: a stable ID, a severity, what each checks and how to fix it.

Rule IDs are ``area/name`` and never change meaning once released (a changed check gets a new
ID). The areas: ``read`` (a file cannot be read), ``structure`` (the OIFM JSON schema),
``identity`` (IDs across files), ``code`` (index codes against the registry and the corpus),
``crosswalk`` (co-indexed codes of two systems), ``release`` (index codes against the
terminology releases loaded in a store, see :mod:`ontomap.validate.releases`) and ``graph``
(the SHACL shapes of
``ontologies/shapes.ttl``; those rules are read from the shapes file, see
:func:`ontomap.validate.shacl.graph_rules`). ``docs/validate.md`` documents every rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from ontomap.readers.schema import (
    ATTRIBUTE_DESCRIPTION_MAX,
    ATTRIBUTE_DESCRIPTION_MIN,
    ATTRIBUTE_NAME_MAX,
    ATTRIBUTE_NAME_MIN,
    FINDING_DESCRIPTION_MIN,
    FINDING_NAME_MIN,
    MIN_CHOICE_VALUES,
)
from ontomap.validate.report import Finding, Severity


@dataclass(frozen=True, slots=True)
class Rule:
    """A check: its ID, severity, a one-line summary, and the default fix hint."""

    id: str
    severity: Severity
    summary: str
    hint: str

    def finding(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        entity: str | None = None,
        hint: str | None = None,
    ) -> Finding:
        """A finding of this rule (with the rule's own hint unless ``hint`` is given)."""
        return Finding(
            rule=self.id,
            severity=self.severity,
            message=message,
            hint=hint if hint is not None else self.hint,
            file=file,
            line=line,
            entity=entity,
        )


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


#: Every rule except the ``graph/…`` ones (which come from ``ontologies/shapes.ttl``).
RULES: dict[str, Rule] = _rules(
    # -- read
    Rule(
        "read/unreadable",
        "error",
        "the file cannot be read as a finding model (not UTF-8, invalid JSON, a Markdown "
        "layout the reader does not know, no model ID…)",
        "fix the file at the line given, or the path when there is no such file or folder; "
        "the message says what the reader expected",
    ),
    Rule(
        "read/warning",
        "warning",
        "the reader read the file but warned about something",
        "see the message",
    ),
    # -- structure (the OIFM JSON schema)
    Rule(
        "structure/finding-id",
        "error",
        "the finding's oifm_id is missing or not of the form OIFM_XXX_NNNNNN "
        "(3 or 4 capital letters, 6 digits)",
        "write the ID as OIFM_ + the organisation's 3-4 letter code + _ + 6 digits, "
        "e.g. OIFM_GMTS_005529",
    ),
    Rule(
        "structure/attribute-id",
        "error",
        "an attribute's oifma_id is missing or not of the form OIFMA_XXX_NNNNNN",
        "write the ID as OIFMA_ + 3-4 capital letters + _ + 6 digits, e.g. OIFMA_GMTS_963679",
    ),
    Rule(
        "structure/value-code",
        "error",
        "a value_code is not of the form OIFMA_XXX_NNNNNN.N, or names another attribute than "
        "the one it is in",
        "a value code is its attribute's oifma_id, a dot and its position: OIFMA_XXX_NNNNNN.0",
    ),
    Rule(
        "structure/value-code-missing",
        "warning",
        "a value has no value_code: it is read as its attribute's oifma_id, a dot and its "
        "position, as the findingmodel package fills it in",
        "write the value code the message names (OIFMA_XXX_NNNNNN.N, N its position from 0)",
    ),
    Rule(
        "structure/value-renumbered",
        "warning",
        "a value code of the attribute is not numbered by its position (.0, .1, .2… in list "
        "order): it is read as the code of its position, as the findingmodel package reads it",
        "number the values in the order they are listed, from .0 (as the message says)",
    ),
    Rule(
        "structure/required-field",
        "error",
        "a field the schema requires is missing (a finding's name, description and attributes; "
        "an attribute's name and type; a choice attribute's values; a value's name; an index "
        "code's system and code)",
        "add the field",
    ),
    Rule(
        "structure/field-type",
        "error",
        "a field has the wrong JSON type (a string, list, object, number or boolean was "
        "expected), or an attribute's type is neither choice nor numeric",
        "give the field the type the message names",
    ),
    Rule(
        "structure/name-length",
        "error",
        f"a name is too short or too long (finding: at least {FINDING_NAME_MIN} characters; "
        f"attribute: {ATTRIBUTE_NAME_MIN}-{ATTRIBUTE_NAME_MAX}; value: not empty)",
        "write a short, descriptive name within the limits",
    ),
    Rule(
        "structure/description-length",
        "error",
        f"a description is too short or too long (finding: at least "
        f"{FINDING_DESCRIPTION_MIN} characters; attribute: {ATTRIBUTE_DESCRIPTION_MIN}-"
        f"{ATTRIBUTE_DESCRIPTION_MAX} where given)",
        "write one or two sentences within the limits (or drop an attribute's description)",
    ),
    Rule(
        "structure/no-attributes",
        "error",
        "a finding has no attributes",
        "add at least one attribute (most findings start with 'presence')",
    ),
    Rule(
        "structure/too-few-values",
        "error",
        f"a choice attribute has fewer than {MIN_CHOICE_VALUES} values",
        "list at least two values, or make the attribute numeric",
    ),
    Rule(
        "structure/max-selected",
        "error",
        "a choice attribute's max_selected is negative (the findingmodel package rejects it too)",
        "set max_selected between 1 and the number of values (1 for a single choice)",
    ),
    Rule(
        "structure/max-selected-all",
        "warning",
        'a choice attribute\'s max_selected is "all": it is read as the number of values, as '
        "the findingmodel package reads it",
        'write the number of values (a JSON number) instead of "all"',
    ),
    Rule(
        "structure/max-selected-zero",
        "warning",
        "a choice attribute's max_selected is 0: it is read as 1, as the findingmodel package "
        "reads it",
        "write 1 for a single choice, or leave max_selected out",
    ),
    Rule(
        "structure/max-selected-above",
        "warning",
        "a choice attribute's max_selected is above its number of values: it is read as the "
        "number of values, as the findingmodel package reads it",
        "set max_selected to at most the number of values",
    ),
    Rule(
        "structure/min-max",
        "error",
        "a numeric attribute's minimum is greater than its maximum",
        "swap or correct the bounds",
    ),
    Rule(
        "structure/unknown-field",
        "warning",
        "a JSON field ontomap does not read (a typo, or a field of another schema version): "
        "it is not in the graph",
        "check the spelling of the field name, or remove it",
    ),
    # -- identity
    Rule(
        "identity/duplicate-finding-id",
        "error",
        "the same OIFM ID in two files of the same format (a JSON file and its Markdown "
        "rendering are compared instead, see identity/markdown-mismatch)",
        "keep one of the two files, or give one of the models a new ID",
    ),
    Rule(
        "identity/duplicate-attribute-id",
        "error",
        "the same OIFMA ID in two different finding models, or twice in one",
        "give one of the attributes a new, unused OIFMA ID (and renumber its value codes)",
    ),
    Rule(
        "identity/markdown-mismatch",
        "error",
        "a Markdown file and a JSON file with the same OIFM ID disagree beyond what the "
        "Markdown rendering is documented to lose",
        "re-render the Markdown from the JSON (the JSON is the source), or correct whichever "
        "file is wrong",
    ),
    # -- codes
    Rule(
        "code/unknown-system",
        "warning",
        "an index code's system is not in the registry (ontologies/terminologies.toml); its "
        "codes are kept under a generic namespace",
        "fix the system name's spelling, or add the system to ontologies/terminologies.toml",
    ),
    Rule(
        "code/system-spelling",
        "warning",
        "a code system is spelled two or more ways in the corpus (e.g. SNOMED and SNOMEDCT)",
        "use one spelling everywhere (the registry key, as the message says)",
    ),
    Rule(
        "code/syntax",
        "error",
        "a code does not have its system's syntax (RadLex RID + digits, SNOMED CT 6-18 digits, "
        "LOINC NNNNN-N…)",
        "copy the code again from the terminology; check the system is the right one",
    ),
    Rule(
        "code/check-digit",
        "error",
        "a code's check digit is wrong (SNOMED CT: Verhoeff; LOINC: mod 10): almost always a typo",
        "copy the code again from the terminology",
    ),
    Rule(
        "code/snomed-partition",
        "error",
        "a SNOMED CT identifier that is not a concept ID (its partition digits are not 00 or "
        "10: a description or relationship ID)",
        "use the concept ID (look the term up in a SNOMED CT browser)",
    ),
    Rule(
        "code/display-conflict",
        "warning",
        "a code's display contradicts the display most of the corpus gives the same code",
        "use the dominant display (or fix the code, if the display is the right one)",
    ),
    Rule(
        "code/display-varies",
        "warning",
        "a code is given two or more different displays across the corpus and none dominates",
        "pick the terminology's preferred term and use it everywhere",
    ),
    Rule(
        "code/display-missing",
        "warning",
        "a code has no display here while other places in the corpus give it one",
        "add the display the message suggests",
    ),
    Rule(
        "code/no-display",
        "info",
        "a code has no display anywhere in the corpus",
        "add the terminology's preferred term as the display",
    ),
    # -- crosswalk
    Rule(
        "crosswalk/outlier",
        "warning",
        "a code is paired with a code of another system in a small minority of its uses while "
        "another pairing with that system dominates (the crosswalk's outlier flag): possibly a "
        "coding error",
        "check the code pairing in the files listed; use the dominant pairing if it applies",
    ),
    Rule(
        "crosswalk/skipped",
        "warning",
        "an entity carries so many index codes of two systems that the crosswalk does not "
        "compare them pair by pair (only codes with equal displays are paired on it), so its "
        "pairings are weighed only in part",
        "check the entity's index codes: so many are almost always a mistake",
    ),
)

#: The ``release/…`` rules: index codes against the terminology releases of a store (run only
#: when a store is given, so kept apart from :data:`RULES`, whose rules every run can report).
RELEASE_RULES: dict[str, Rule] = _rules(
    Rule(
        "release/code-absent",
        "error",
        "a code that the loaded release of its system does not have",
        "check the code for a typo and that its system is the right one; a code newer than the "
        "release needs a newer release loaded",
    ),
    Rule(
        "release/code-inactive",
        "warning",
        "a code that the loaded release of its system marks inactive, obsolete or deprecated "
        "(the hint names the replacement the release gives)",
        "replace it with the code the hint names, or choose an active code",
    ),
    Rule(
        "release/display-mismatch",
        "warning",
        "a display that is none of the code's names in the loaded release (preferred terms, "
        "synonyms, the fully specified name with or without its semantic tag), ignoring case, "
        "white space and punctuation",
        "use the preferred term the message shows, or check that the code is the right one",
    ),
    Rule(
        "release/semantic-tag",
        "warning",
        "with --semantic-tags: a SNOMED CT code whose semantic tag does not fit its place (a "
        "finding takes a finding, disorder…; an anatomic location a body structure; a value "
        "of a presence attribute a qualifier value or finding)",
        "check the code: the message says which semantic tags the place takes",
    ),
)
