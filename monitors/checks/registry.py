"""The check kinds by name, and what follows from their declarations.

Everything outside ``monitors/checks`` that depends on the kinds (the runner,
the API serializer, the dashboard form, the admin) goes through here rather
than naming kinds, so a kind is added by writing its module and listing its
``KIND`` below (plus its model fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import dns, heartbeat, http, tcp
from .base import COMMON, CheckKind, CheckSpec, OptionField

DEFAULT_KIND = "http"

REGISTRY: dict[str, CheckKind] = {
    kind.name: kind for kind in (http.KIND, tcp.KIND, dns.KIND, heartbeat.KIND)
}


def kind_choices() -> list[tuple[str, str]]:
    """(name, label) of every kind: Monitor.kind's choices, read when used.

    Migrations refer to this function by its dotted path: keep it here.
    """
    return [(kind.name, kind.label) for kind in REGISTRY.values()]


def option_fields() -> tuple[OptionField, ...]:
    """The common options, then each kind's, in registry order."""
    fields: dict[str, OptionField] = {option.name: option for option in COMMON}
    for kind in REGISTRY.values():
        for option in kind.options:
            fields.setdefault(option.name, option)
    return tuple(fields.values())


def option_names() -> tuple[str, ...]:
    return tuple(option.name for option in option_fields())


def shown_names() -> tuple[str, ...]:
    """Read-only monitor attributes the kinds show with their options."""
    names: dict[str, None] = {}
    for kind in REGISTRY.values():
        names.update(dict.fromkeys(kind.shown))
    return tuple(names)


def check_fields() -> tuple[str, ...]:
    """The monitor fields ``clean_options`` looks at together."""
    return ("kind", "url", *option_names())


def _clean_each(
    kind: CheckKind,
    values: Mapping[str, Any],
    cleaned: dict[str, Any],
    errors: dict[str, str],
) -> None:
    for option in (*COMMON, *kind.options):
        value = values.get(option.name)
        if value is None or value == "":
            value = option.default
        if option.choices and value not in option.choices:
            errors[option.name] = f"Must be one of {', '.join(option.choices)}."
        elif option.clean is not None:
            try:
                cleaned[option.name] = option.clean(value)
            except ValueError as exc:
                errors[option.name] = str(exc)


def clean_options(
    values: Mapping[str, Any], *, allow_private: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a monitor's kind, target and options together.

    ``values`` holds the monitor's fields (``check_fields()``); plain values,
    no model. Returns (normalized values to store, {field: error message}).
    Only the chosen kind's options are looked at.
    """
    name = values.get("kind") or DEFAULT_KIND
    kind = REGISTRY.get(name)
    if kind is None:
        return {}, {"kind": f"Must be one of {', '.join(REGISTRY)}."}
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    try:
        target = (values.get("url") or "").strip()
        cleaned["url"] = kind.clean_target(target, allow_private=allow_private)
    except ValueError as exc:
        errors["url"] = str(exc)
    _clean_each(kind, values, cleaned, errors)
    if kind.check_together is not None:
        # Judged on the normalized values; a rule on several fields says
        # more than one field's own error, so it wins.
        errors.update(
            kind.check_together({**values, **cleaned}, allow_private=allow_private)
        )
    return {k: v for k, v in cleaned.items() if k not in errors}, errors


def spec_for(source: Any, config: Any) -> CheckSpec:
    """Plain check settings from anything with a monitor's attributes."""
    name = source.kind or DEFAULT_KIND
    kind = REGISTRY.get(name)
    if kind is None:
        # The runner reports an unknown kind as a failed check.
        return CheckSpec(kind=name, url=source.url, timeout=source.timeout_seconds)
    return kind.spec_from(source, config)
