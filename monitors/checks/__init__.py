"""Check kinds. Each module takes plain settings, returns a CheckResult, and
declares itself in one ``CheckKind`` (name, label, options, validation, how
to read its settings); ``registry.REGISTRY`` maps names to them.

They know nothing of Django models; ``monitors.runner`` maps monitors onto
specs and results onto ticks.
"""

from __future__ import annotations

from .base import CheckKind, CheckResult, CheckSpec, OptionField
from .registry import (
    DEFAULT_KIND,
    REGISTRY,
    check_fields,
    clean_options,
    kind_choices,
    option_fields,
    option_names,
    shown_names,
    spec_for,
)

__all__ = (
    "DEFAULT_KIND",
    "REGISTRY",
    "CheckKind",
    "CheckResult",
    "CheckSpec",
    "OptionField",
    "check_fields",
    "clean_options",
    "kind_choices",
    "option_fields",
    "option_names",
    "shown_names",
    "spec_for",
)
