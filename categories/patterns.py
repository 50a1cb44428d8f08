"""Bounds on what a rule's regular expression may cost to compile.

The 200-character limit and the per-search timeout bound neither memory nor time
spent *compiling*: the `regex` module expands counted repeats, so `x{99999999}`
(11 characters) asks for gigabytes before any text is searched. A pattern is
therefore parsed with the `regex` module's own parser (the exact grammar it will be
compiled with; parsing allocates a node per construct, not per repetition) and its
structure is checked before it is ever compiled:

- every repeat count (`{n}`, `{m,n}`, `{m,}`) is at most `REPEAT_MAX`;
- counted or open repeats nest at most `REPEAT_NESTING_MAX` deep;
- the size of the pattern with every repeat expanded to its minimum count (the work
  the compiler does) is at most `EXPANDED_SIZE_MAX` nodes.

Within those bounds compiling any pattern of at most 200 characters takes
milliseconds and a few megabytes, without a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex
from regex import _regex_core  # the parser `regex.compile` itself uses (version pinned)

REPEAT_MAX = 1000
REPEAT_NESTING_MAX = 3
EXPANDED_SIZE_MAX = 10_000


class PatternTooCostly(ValueError):
    """The pattern parses, but compiling it could take too much memory or time."""


def _parse(value: str, flags: int) -> _regex_core.RegexBase:
    """Parse exactly as `regex.compile` does, without compiling; raises `regex.error`."""
    global_flags = flags
    for _attempt in range(3):
        source = _regex_core.Source(value)
        info = _regex_core.Info(global_flags, source.char_type, {})
        info.guess_encoding = regex.UNICODE
        source.ignore_space = bool(info.flags & regex.VERBOSE)
        try:
            parsed = _regex_core._parse_pattern(source, info)
        except _regex_core._UnscopedFlagSet:
            # A global flag (e.g. `(?x)`) found mid-pattern: parse again with it, like
            # `regex.compile` does.
            global_flags = info.global_flags
            continue
        if not source.at_end():
            raise regex.error("unbalanced parenthesis", value, source.pos)
        return parsed
    raise regex.error("inconsistent global flags", value, 0)


def _children(node: _regex_core.RegexBase) -> Iterator[_regex_core.RegexBase]:
    # Generic over node types (sequences, branches, groups, lookarounds, sets,
    # conditionals, fuzzy sections…) so a construct the checker does not know by name
    # is still walked.
    for attribute in vars(node).values():
        if isinstance(attribute, _regex_core.RegexBase):
            yield attribute
        elif isinstance(attribute, list | tuple):
            for item in attribute:
                if isinstance(item, _regex_core.RegexBase):
                    yield item


def _expanded_size(node: _regex_core.RegexBase, repeat_depth: int) -> int:
    if isinstance(node, _regex_core.GreedyRepeat):  # also lazy and possessive repeats
        counts = [node.min_count] + ([] if node.max_count is None else [node.max_count])
        if max(counts) > REPEAT_MAX:
            raise PatternTooCostly(f"Repeat counts may be at most {REPEAT_MAX}.")
        if repeat_depth >= REPEAT_NESTING_MAX:
            raise PatternTooCostly(f"Repeats may be nested at most {REPEAT_NESTING_MAX} deep.")
        inner = _expanded_size(node.subpattern, repeat_depth + 1)
        return 1 + inner * max(node.min_count, 1)
    size = 1
    for child in _children(node):
        size += _expanded_size(child, repeat_depth)
        if size > EXPANDED_SIZE_MAX:
            break
    return size


def pattern_check(value: str, flags: int = 0) -> None:
    """Raise unless compiling `value` with `flags` is cheap; never compiles it.

    Raises `regex.error` for a pattern that does not parse and `PatternTooCostly`
    (with a message fit for the client) for one outside the bounds above.
    """
    try:
        parsed = _parse(value, flags)
    except RecursionError:
        raise PatternTooCostly("The expression is nested too deeply.") from None
    if _expanded_size(parsed, 0) > EXPANDED_SIZE_MAX:
        raise PatternTooCostly(
            "The expression is too large once its repeats are expanded "
            f"(at most {EXPANDED_SIZE_MAX} elements)."
        )


def pattern_compile(value: str, flags: int = 0) -> regex.Pattern:
    """`regex.compile` behind `pattern_check`: the only way rules compile a pattern."""
    pattern_check(value, flags)
    return regex.compile(value, flags)
