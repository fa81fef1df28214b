"""A small JSON path assertion: ``$.status == "ok"``, ``$.items[0].id > 3``.

Grammar: a path (``$`` then ``.name``, ``["name"]`` or ``[index]`` steps),
optionally an operator (``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``,
``contains``) and a JSON literal (``"ok"``, ``200``, ``true``, ``null``).
A bare path asserts that the value exists and is truthy. Deliberately tiny:
no filters or wildcards, so an expression cannot be slow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][\w-]*)|\[(?P<index>-?\d+)\]|\[(?P<quoted>"(?:[^"\\]|\\.)*")\]"""
)
_OP = re.compile(r"\s*(==|!=|>=|<=|>|<|contains)\s*")
_MISSING = object()


@dataclass(frozen=True)
class Assertion:
    steps: tuple[str | int, ...]
    op: str | None
    expected: Any
    source: str


def parse(text: str) -> Assertion:
    """Parse an assertion; ValueError with a message a person can act on."""
    source = (text or "").strip()
    if not source.startswith("$"):
        raise ValueError('Must start with $, e.g. $.status == "ok".')
    steps: list[str | int] = []
    pos = 1
    while pos < len(source) and not source[pos].isspace():
        step = _STEP.match(source, pos)
        if step is None:
            if _OP.match(source, pos):
                break
            raise ValueError(f"Cannot read the path at {source[pos:][:50]!r}.")
        if step["name"] is not None:
            steps.append(step["name"])
        elif step["index"] is not None:
            steps.append(int(step["index"]))
        else:
            steps.append(json.loads(step["quoted"]))
        pos = step.end()
    rest = source[pos:]
    if not rest.strip():
        return Assertion(steps=tuple(steps), op=None, expected=None, source=source)
    match = _OP.match(rest)
    if match is None:
        raise ValueError(
            f"Expected an operator (==, !=, >, >=, <, <=, contains) at {rest[:50]!r}."
        )
    op, raw = match[1], rest[match.end() :].strip()
    if not raw:
        raise ValueError(f"Nothing to compare after {op!r}.")
    try:
        expected = json.loads(raw)
    except ValueError:
        raise ValueError(
            f'{raw[:50]!r} is not a JSON value: quote strings, e.g. "ok".'
        ) from None
    if op in (">", ">=", "<", "<=") and not _is_number(expected):
        raise ValueError(f"{op} compares numbers; {raw[:50]!r} is not a number.")
    return Assertion(steps=tuple(steps), op=op, expected=expected, source=source)


def _same(a: Any, b: Any) -> bool:
    # JSON true is not 1: compare booleans by identity, numbers by value.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lookup(document: Any, steps: tuple[str | int, ...]) -> Any:
    current = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(
                current
            ):
                return _MISSING
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return _MISSING
            current = current[step]
    return current


def evaluate(assertion: Assertion, document: Any) -> tuple[bool, str]:
    """(passed, explanation) for a parsed JSON document."""
    actual = _lookup(document, assertion.steps)
    if actual is _MISSING:
        return False, "the path does not exist in the response"
    shown = json.dumps(actual)[:200]
    op, expected = assertion.op, assertion.expected
    if op is None:
        return bool(actual), f"the value is {shown}"
    if op == "==":
        return _same(actual, expected), f"the value is {shown}"
    if op == "!=":
        return not _same(actual, expected), f"the value is {shown}"
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected in actual, f"the value is {shown}"
        if isinstance(actual, list):
            return expected in actual, f"the value is {shown}"
        return False, f"the value is {shown}, not a string or a list"
    if not _is_number(actual):
        return False, f"the value is {shown}, not a number"
    result = {
        ">": actual > expected,
        ">=": actual >= expected,
        "<": actual < expected,
        "<=": actual <= expected,
    }[op]
    return result, f"the value is {shown}"
