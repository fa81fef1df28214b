"""Secret references in a configuration document: ``${UPTIME_SECRET_...}``.

An export never writes a secret in clear: each one becomes a reference
named after where it lives (``ref_name("channel", "Ops", "target")`` ->
``UPTIME_SECRET_CHANNEL_OPS_TARGET``). On import a reference resolves:

- from the environment, when the importer may read it (the management
  command, run by the operator: ``environ`` is ``os.environ``);
- else to the value already stored in that same field of that same object
  ("keep what is there"), so re-importing an export changes nothing;
- else it is an error that names the document path and the variable.

The API never resolves from the server's environment (``environ`` None): a
user who may PUT a document must not be able to copy the server's own
settings (its database URL, its mail password) into a webhook URL they
receive. There a reference can only keep the secret already stored in the
same place; a new secret is given in clear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

PREFIX = "UPTIME_SECRET_"
_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def ref_name(*parts: str) -> str:
    """An environment variable name from the secret's place."""
    words = [re.sub(r"[^A-Z0-9]+", "_", part.upper()).strip("_") for part in parts]
    return PREFIX + "_".join(word for word in words if word)


def reference(*parts: str) -> str:
    return "${" + ref_name(*parts) + "}"


def referenced_name(value: Any) -> str | None:
    """The variable a ``${NAME}`` value refers to; None for a plain value."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.match(value.strip())
    return match[1] if match else None


class Secrets:
    """Resolves the references of one import (see the module docstring)."""

    def __init__(self, environ: Mapping[str, str] | None) -> None:
        self.environ = environ

    def resolve(self, value: Any, *, stored: str | None, path: str) -> Any:
        """``value`` in clear, or what its reference stands for."""
        name = referenced_name(value)
        if name is None:
            return value
        if self.environ is not None and name in self.environ:
            return self.environ[name]
        if stored:
            return stored
        if self.environ is None:
            raise ConfigError(
                path,
                f"${{{name}}} keeps the stored secret, and none is stored here: "
                "give the value in clear (the API does not read the server's "
                "environment).",
            )
        raise ConfigError(
            path,
            f"${{{name}}} is not set in the environment, and no secret is "
            "stored here to keep.",
        )
