"""Checks a query passes before Oxigraph sees it: a bounded nesting, and nothing unsafe.

- :func:`check_nesting` bounds how deeply a query nests. Oxigraph's parser and evaluator recurse
  once per level of nesting, and a query a few thousand levels deep overflows the stack of the
  process (a segmentation fault, not an error). The depth is counted lexically (strings, IRIs,
  comments and prefixed names are skipped); see :func:`nesting` for what counts. ``ontomap
  query`` and ``ontomap serve`` refuse queries deeper than :data:`MAX_NESTING`.
- :func:`check_safe` is what ``ontomap serve`` runs on every query: the nesting check, then the
  query is read with rdflib's SPARQL 1.1 parser (a grammar, not a scan of words) and refused if
  it holds a ``SERVICE`` pattern anywhere (in OPTIONAL, UNION, MINUS, EXISTS, subqueries, with
  an IRI or a variable), if it is an update, or if that parser cannot read it: what cannot be
  checked is not run.

>>> check_safe("SELECT ?f WHERE { ?f a oifm:FindingModel }")
>>> check_safe("ASK { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
Traceback (most recent call last):
...
ontomap.query.safety.ServiceRefusedError: SERVICE <http://example.org/sparql> ...
"""

from __future__ import annotations

import bisect
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ontomap.query import QueryError, UpdateRefusedError, leading_keyword

__all__ = [
    "MAX_NESTING",
    "Nesting",
    "QueryRefusedError",
    "QueryTooDeepError",
    "ServiceRefusedError",
    "check_nesting",
    "check_safe",
    "nesting",
]

#: The deepest nesting accepted (see :func:`nesting`). Oxigraph overflows an 8 MiB stack from
#: about 4,600 on every construct measured (4,650 nested parentheses, 915 nested CONCAT calls,
#: 2,180 nested groups, 9,300 chained ``||``, 700 nested FILTER EXISTS, 2,600 BINDs in a group).
MAX_NESTING = 1000

#: Weight of an opening bracket: a group ``{`` costs Oxigraph about twice a parenthesis, a
#: function call (or FILTER, BIND...) about five times.
_GROUP, _CALL, _PLAIN = 2, 5, 1
#: Keywords that chain the patterns of a group into nested joins, with their weight.
_CHAINING = {
    "UNION": 1,
    "OPTIONAL": 1,
    "MINUS": 1,
    "FILTER": 1,
    "BIND": 2,
    "GRAPH": 1,
    "SERVICE": 1,
    "VALUES": 1,
}
#: Operators that build one more level of the expression or path tree each time they repeat.
_CHAIN_OPERATORS = frozenset({"||", "&&", "!", "+", "-", "*", "/", "|", "^"})
#: Words that are terms, not keywords, where a term is expected.
_TERM_WORDS = frozenset({"A", "TRUE", "FALSE", "UNDEF"})
#: Words that open clauses whose parentheses hold expressions (``SELECT (… AS ?x)``...).
_EXPRESSION_CLAUSES = frozenset({"SELECT", "BY", "HAVING"})
_CLAUSE_ENDS = frozenset({"WHERE", "LIMIT", "OFFSET", "VALUES"})

_PN_CHARS = r"[\w\u00b7\u0300-\u036f\u203f-\u2040-]"
_SKIP = r"(?: [\x20\t\r\n]++ | \#[^\r\n]*+ )*+"
_STRING = (
    r"(?: '''(?:[^'\\]++|\\.|'(?!''))*+''' "
    r"""| \"\"\"(?:[^"\\]++|\\.|"(?!""))*+\"\"\" """
    r"""| '(?:[^'\\\r\n]++|\\.)*+' | "(?:[^"\\\r\n]++|\\.)*+" )"""
)
_IRI = r"""<[^<>"{}|^`\\\x00-\x20]*>"""
_VAR = rf"[?$]{_PN_CHARS}+"
_PNAME = (
    rf"(?: (?:[^\W\d_]{_PN_CHARS}*(?:\.+{_PN_CHARS}+)*)?:"
    rf"(?:{_PN_CHARS}|:|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?\#@%]"
    rf"|\.+(?={_PN_CHARS}|:|%|\\))* )"
)
_BNODE = rf"_:{_PN_CHARS}*(?:\.+{_PN_CHARS}+)*"
_LANG = r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"
_NUMBER = r"(?: [0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)? | \.[0-9]+(?:[eE][+-]?[0-9]+)? )"
#: One lexeme, after the spaces and comments before it.
_LEXEME = re.compile(
    rf"""{_SKIP}
    (?: (?P<string> {_STRING} ) | (?P<iri> {_IRI} ) | (?P<var> {_VAR} ) | (?P<pname> {_PNAME} )
      | (?P<bnode> {_BNODE} ) | (?P<lang> {_LANG} ) | (?P<number> {_NUMBER} )
      | (?P<word> [A-Za-z_][A-Za-z0-9_]* ) | (?P<open> [({{\[] ) | (?P<close> [)}}\]] )
      | (?P<op> \|\| | && | \^\^ | != | <= | >= | [!+\-*/|^<>=] ) | (?P<other> . )
      | (?P<end> $ ) )
    """,
    re.VERBOSE | re.DOTALL,
)
#: A run of terms and punctuation, which cannot change the depth, where ``<`` only opens
#: IRIs (triple patterns, VALUES rows): read in one step, for long data blocks.
_DATA_RUN = re.compile(
    rf"""{_SKIP}
    (?: (?> {_STRING} | {_IRI} | {_VAR} | {_PNAME} | {_BNODE} | {_LANG} | {_NUMBER}
          | [aA](?![\w:]) | \^\^ | [.,;] ) {_SKIP} )++
    """,
    re.VERBOSE | re.DOTALL,
)


class QueryRefusedError(QueryError):
    """A query ontomap will not run; ``reason`` says why, ``line`` and ``column`` (1-based)
    where, when known, in ``source`` (a file name, ``<query>``...) when given; ``text``, the
    query, gives the message an excerpt."""

    def __init__(
        self,
        reason: str,
        line: int | None = None,
        column: int | None = None,
        text: str = "",
        source: str | None = None,
    ) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        self.source = source
        where = f"line {line}, column {column}" if line is not None else ""
        if source:
            where = f"{where} of {source}" if where else source
        message = f"{where}: {reason}" if where else reason
        lines = text.splitlines()
        if line is not None and column is not None and 1 <= line <= len(lines):
            shown = lines[line - 1]
            start = max(0, column - 60)
            gutter = f"{line:4d} | "
            message += f"\n{gutter}{shown[start : start + 120]}\n"
            message += f"{' ' * (len(gutter) - 2)}| {' ' * (column - 1 - start)}^"
        super().__init__(message)


class QueryTooDeepError(QueryRefusedError):
    """The query nests deeper than ``limit`` (see :func:`nesting`)."""

    def __init__(
        self, depth: int, limit: int, line: int, column: int, source: str | None = None
    ) -> None:
        self.depth = depth
        self.limit = limit
        super().__init__(
            f"the query nests too deeply (more than {limit} levels of brackets, function "
            "calls, groups and chained operators; Oxigraph would overflow its stack): nest "
            "less, and write long chains of || or UNION as IN (...) or VALUES",
            line,
            column,
            source=source,
        )


class ServiceRefusedError(QueryRefusedError):
    """A ``SERVICE`` pattern (federated query); ``service`` is its IRI or variable."""

    def __init__(self, service: str) -> None:
        self.service = service
        super().__init__(
            f"SERVICE {service} (federated query) is not allowed here: this server does not "
            "send requests to other servers for its clients"
        )


@dataclass(frozen=True, slots=True)
class Nesting:
    """How deeply a query nests: ``depth``, reached first at ``line``, ``column`` (1-based)."""

    depth: int
    line: int
    column: int


class _Level:
    """One open bracket of :func:`nesting`: its weight, whether it holds an expression, and
    the weight chained inside it so far."""

    __slots__ = ("chain", "expression", "weight")

    def __init__(self, weight: int, expression: bool) -> None:
        self.weight = weight
        self.expression = expression
        self.chain = 0


def _where(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def nesting(text: str, stop_above: int | None = None) -> Nesting:
    """How deeply ``text`` nests, as Oxigraph's recursion sees it.

    The depth at a point is the sum, over the brackets open there, of each bracket's weight
    (a parenthesis or ``[`` 1, a group ``{`` 2, the arguments of a function call, FILTER or
    BIND 5) and of what is chained inside it before that point: each operator of
    ``a || b || c``, ``a && b``, ``a + b``, ``a * b``, ``p / q``, ``p | q``, each ``!`` and
    ``^``, each group, and each UNION, OPTIONAL, MINUS, FILTER, GRAPH, SERVICE and VALUES
    keyword (BIND 2), since Oxigraph nests those too. Strings, IRIs, prefixed names and
    comments are skipped. Inside an expression a ``<`` after a term is the less-than operator,
    as Oxigraph reads it, even where an IRI could start.

    The scan stops as soon as the depth exceeds ``stop_above``.
    """
    levels: list[_Level] = []
    top = current = _Level(0, expression=True)  # the innermost open level; first the top
    total = deepest = deepest_at = 0
    previous = ""  # the last significant lexeme: word, name (IRI, prefixed name), term, op...
    after_filter = False  # the last lexeme is a name right after FILTER: a function call
    last_word = ""
    clause = False  # in SELECT, GROUP BY, ORDER BY or HAVING: parentheses hold expressions
    position, size = 0, len(text)
    match_at = _LEXEME.match
    while position < size:
        if not current.expression and previous != "word" and not after_filter:
            run = _DATA_RUN.match(text, position)
            if run is not None:
                position = run.end()
                previous = "punct" if run.group().rstrip()[-1:] in (".", ",", ";") else "term"
                continue
        match = match_at(text, position)
        assert match is not None  # the last alternatives match any character or the end
        kind = match.lastgroup
        assert kind is not None  # every alternative is a named group
        start, position = match.start(kind), match.end()
        if kind == "iri" and levels and current.expression and previous in ("term", "name"):
            kind, position = "op", start + 1  # less-than: Oxigraph reads an operator here
        weight = 0
        if kind == "word":
            word = match.group(kind).upper()
            if word in _TERM_WORDS:
                after_filter, previous = False, "term"
            else:
                weight = _CHAINING.get(word, 0)
                current.chain += weight
                total += weight
                if word in _EXPRESSION_CLAUSES:
                    clause = True
                elif word in _CLAUSE_ENDS:
                    clause = False
                after_filter, previous, last_word = False, "word", word
        elif kind == "iri" or kind == "pname":
            after_filter, previous = previous == "word" and last_word == "FILTER", "name"
        elif kind == "open":
            value = text[start]
            if value == "{":
                current.chain += 1  # a group is joined to what precedes it in its group
                total += 1
                level = _Level(_GROUP, expression=False)
                clause = False
            elif value == "[":
                level = _Level(_PLAIN, expression=False)
            else:
                call = previous == "word" or after_filter
                call = call or (previous == "name" and current.expression)
                level = _Level(_CALL if call else _PLAIN, current.expression or clause or call)
            levels.append(level)
            current = level
            weight = level.weight
            total += weight
            after_filter, previous = False, "open"
        elif kind == "close":
            if levels:
                level = levels.pop()
                total -= level.weight + level.chain
                current = levels[-1] if levels else top
            if text[start] == "}":
                clause = False
            after_filter, previous = False, "term"
        elif kind == "op":
            if text[start:position] in _CHAIN_OPERATORS:
                current.chain += 1
                total += 1
                weight = 1
            after_filter, previous = False, "op"
        elif kind == "other":
            if text[start] in "'\"":
                break  # a string that never ends: Oxigraph's parser stops there too
            after_filter, previous = False, "punct"
        elif kind != "end":
            after_filter, previous = False, "term"
        if weight and total > deepest:
            deepest, deepest_at = total, start
            if stop_above is not None and total > stop_above:
                break
    return Nesting(deepest, *_where(text, deepest_at))


def check_nesting(text: str, limit: int = MAX_NESTING, source: str | None = None) -> None:
    """Raise :class:`QueryTooDeepError` if ``text`` (from ``source``, for the message) nests
    deeper than ``limit``."""
    found = nesting(text, stop_above=limit)
    if found.depth > limit:
        raise QueryTooDeepError(found.depth, limit, found.line, found.column, source)


#: rdflib's parser recurses about 40 Python frames per level of nesting and 11 per triple
#: pattern; it runs in a thread of its own with room for that many. The lock keeps one parse
#: at a time: the recursion limit is the interpreter's, and the SERVICE rule is rdflib's.
_RECURSION_LIMIT = 120_000
_STACK_BYTES = 32 * 1024 * 1024
_PARSE_LOCK = threading.Lock()


def _unescapes(text: str) -> None:
    """Refuse codepoint escapes (``\\u0022``) that decode to ASCII punctuation, spaces or
    control characters: rdflib decodes them in the whole text before parsing (as SPARQL says),
    Oxigraph only inside strings and IRIs, so the two parsers could read different queries."""
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes_re

    for match in expandUnicodeEscapes_re.finditer(text):
        code = int(match.group(1), 16)
        if code > 0x10FFFF or (code < 0x80 and not chr(code).isalnum()):
            line, column = _where(text, match.start())
            raise QueryRefusedError(
                f"the codepoint escape {match.group()} is not accepted here: write the "
                'character itself, or a string escape such as \\" or \\n',
                line,
                column,
                text,
            )


#: Long runs of spaces, which rdflib's parser walks once for every alternative it tries.
_LONG_SPACE = re.compile(r"[\x20\t\r\n]{64,}")


class _Shortened:
    """``text`` with each long run of spaces cut to one space or newline (which changes
    nothing a parser reads but the value of a string holding it), and the way back from an
    offset in the short text to one in ``text``."""

    def __init__(self, text: str) -> None:
        parts: list[str] = []
        #: (offset in the short text, characters cut before it): from each such offset on,
        #: the original text is that many characters further.
        self.cuts: list[tuple[int, int]] = []
        kept = length = cut = 0
        for match in _LONG_SPACE.finditer(text):
            before = text[kept : match.start()]
            parts += [before, "\n" if "\n" in match.group() else " "]
            length += len(before) + 1
            cut += len(match.group()) - 1
            self.cuts.append((length, cut))
            kept = match.end()
        parts.append(text[kept:])
        self.text = "".join(parts)

    def original(self, offset: int) -> int:
        """The offset in the original text of ``offset`` in the short one."""
        index = bisect.bisect_right(self.cuts, (offset, sys.maxsize)) - 1
        return offset + (self.cuts[index][1] if index >= 0 else 0)


class _ServiceFound(Exception):
    """Raised by rdflib's parser as soon as it has read a SERVICE pattern."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service


def _service_found(_text: str, _location: int, tokens: Any) -> Any:
    """Stands for rdflib's ``postParse`` of its SERVICE pattern, which would search the whole
    text again for the pattern's source (recursing without end on a nested SERVICE)."""
    from rdflib.plugins.sparql.parserutils import ParamValue

    for token in tokens:
        if isinstance(token, ParamValue) and token.name == "term":
            raise _ServiceFound(_service_name(token.tokenList))
    raise _ServiceFound("(unknown)")


def _service_name(term: Any) -> str:
    """A SERVICE pattern's IRI, prefixed name or variable, as written in SPARQL."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(term, CompValue) and term.name == "pname":
        return f"{dict.get(term, 'prefix') or ''}:{dict.get(term, 'localname') or ''}"
    return str(term.n3()) if hasattr(term, "n3") else str(term)


def _parse(text: str) -> tuple[Any, bool]:
    """rdflib's parse tree of ``text`` and whether it is an update (when neither parses, the
    query's error is raised); :class:`_ServiceFound` as soon as a SERVICE pattern is read."""
    from rdflib.plugins.sparql import parser

    pattern = parser.ServiceGraphPattern
    pattern.postParse = _service_found  # type: ignore[method-assign]
    try:
        try:
            return parser.parseQuery(text), False
        except _ServiceFound:
            raise
        except Exception as query_error:
            try:
                update = parser.parseUpdate(text)
            except _ServiceFound:
                raise
            except Exception:
                raise query_error from None
            if not dict.get(update, "request"):  # a prologue alone (or nothing): no update
                raise query_error from None
            return update, True
    finally:
        del pattern.postParse


def _in_deep_thread(text: str) -> tuple[Any, bool]:
    """:func:`_parse` in a thread with a large stack and a raised recursion limit."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(_parse(text))
        except BaseException as exc:
            outcome.append(exc)

    with _PARSE_LOCK:
        limit = sys.getrecursionlimit()
        previous = threading.stack_size(_STACK_BYTES)
        try:
            sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
            thread = threading.Thread(target=target, name="ontomap-query-check", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
        thread.join()
        sys.setrecursionlimit(limit)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[no-any-return]


def _nodes(tree: Any) -> Iterator[Any]:
    """Every node of an rdflib parse tree (CompValue, ParseResults, lists, terms)."""
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    stack, seen = [tree], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, CompValue):
            stack.extend(dict.values(node))
        elif isinstance(node, ParseResults):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list | tuple | dict):
            stack.extend(node.values() if isinstance(node, dict) else node)


def check_safe(text: str, limit: int = MAX_NESTING) -> None:
    """Raise unless ``text`` is a query a server may run for anyone.

    Checks :func:`check_nesting`, then reads ``text`` with rdflib's SPARQL 1.1 parser and
    raises :class:`ServiceRefusedError` for a ``SERVICE`` pattern anywhere in it,
    :class:`~ontomap.query.UpdateRefusedError` for an update (``LOAD``, ``INSERT``...), and
    :class:`QueryRefusedError` for a text that parser cannot read (a syntax error, or syntax
    beyond SPARQL 1.1). Prefixes need not be declared: the parse does not resolve them.
    """
    from rdflib.plugins.sparql.parserutils import CompValue

    check_nesting(text, limit)
    _unescapes(text)
    short = _Shortened(text)
    try:
        tree, update = _in_deep_thread(short.text)
    except _ServiceFound as found:
        raise ServiceRefusedError(found.service) from None
    except RecursionError:
        raise QueryRefusedError(
            "the query is too long or too deeply nested to be checked; split it"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:
        line = column = None
        if isinstance(getattr(exc, "loc", None), int):
            line, column = _where(text, short.original(exc.loc))  # type: ignore[attr-defined]
        reason = getattr(exc, "msg", None) or str(exc)
        raise QueryRefusedError(
            f"SPARQL syntax error: {reason} (every query is read by a SPARQL 1.1 parser "
            "before it runs; what that parser cannot read is not run)",
            line,
            column,
            text,
        ) from None
    if update:
        raise UpdateRefusedError(leading_keyword(text) or "UPDATE")
    for node in _nodes(tree):
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            raise ServiceRefusedError(_service_name(dict.get(node, "term")))
