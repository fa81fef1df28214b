"""Monitors as code: a project's configuration as one YAML (or JSON) document.

::

    version: 1
    channels: [{name: Ops, kind: slack, target: "${UPTIME_SECRET_CHANNEL_OPS_TARGET}"}]
    escalation_policies: [{name: Page, steps: [{delay_minutes: 0, channels: [Ops]}]}]
    monitors: [{name: Shop, kind: http, url: "https://shop.example/", channels: [Ops],
                escalation_policy: Page, depends_on: LB}, {name: LB, ...}]
    maintenance_windows: [{name: Upgrade, starts_at: ..., ends_at: ...}]
    status_pages: [{slug: shop, title: Shop, groups: [{name: Web, monitors: [...]}]}]

Names are the keys: an import matches items to stored objects by name,
creates what is new, updates what differs, and deletes what is missing only
with ``prune``. Applying the same document twice changes nothing. A section
the document leaves out is not touched. Secrets are references (``refs``).
The import is one transaction; its first error names its document path
(``monitors[3].interval_seconds: ...``) and nothing is applied. A dry run
validates and returns the diff, and writes nothing.

Sections
--------
Each top-level list is one *section* with one small handler, registered with
``document.register_section(handler)`` (an app registers its own from its
``AppConfig.ready()``: ``alerts`` adds ``channels``, as monitors never
imports alerts; ``alerts`` also adds ``escalation_policies``, and
``statuspages`` adds ``status_pages``). A handler has:

``key``
    The document's key (``"monitors"``).
``key_field`` (optional, default ``"name"``)
    The item field that is the key (status pages: ``"slug"``).
``order``
    Apply order, lowest first: a section another one refers to by name
    goes before it (channels 10, escalation policies 15, monitors 20,
    maintenance windows 30, status pages 40). Deletes (``prune``) run
    afterwards, in the opposite order.
``secret_fields``
    Fields whose values a diff never shows.
``export(project) -> list[dict]``
    The stored objects as items, secrets as references, defaults left out.
``stored(project) -> {name: object}``
    The stored objects by name.
``current(object) -> dict``
    A stored object in the shape ``desired`` returns, for the diff.
``desired(item, *, stored, path, ctx) -> dict``
    One item validated and complete: omitted fields take their defaults,
    secrets resolved (``ctx.secrets.resolve``), names of other sections'
    objects checked against ``ctx.names[key]``. Raises ``ConfigError`` at
    ``path`` (``f"{path}.field"``). Writes nothing: a dry run calls it.
``create(values, ctx)``, ``update(object, changes, ctx)``, ``delete(object, ctx)``
    Through the app's own write path (services), never the models;
    ``changes`` holds only the fields that differ. ``ctx.objects(key, names)``
    turns names into objects at apply time. A ValidationError they raise is
    reported at the item's path.
``finish(ctx)`` (optional)
    Called once every section's creates and updates are written, before the
    deletes: for what an item may only write once its whole section exists
    (a monitor's ``depends_on`` naming a monitor further down), kept by
    ``create``/``update`` in ``ctx.deferred[key]``. ``ctx.document`` is the
    whole document, for a rule across items (a dependency cycle).

A new section is one such handler in its app, registered from that app's
``ready()``: the engine, the command, the API and the importers need no
change.

Importers (``kuma``, ``gatus``) convert another tool's file into this
document, with a list of what could not be mapped, and then import it the
same way, so they are idempotent too.
"""

from __future__ import annotations

from .document import (
    Change,
    ImportResult,
    dump_document,
    export_document,
    import_document,
    parse_document,
    register_section,
)
from .errors import ConfigError

__all__ = [
    "Change",
    "ConfigError",
    "ImportResult",
    "dump_document",
    "export_document",
    "import_document",
    "parse_document",
    "register_section",
]
