"""The ``escalation_policies`` section of a configuration document
(monitors.config): registered from ``AlertsConfig.ready()`` after the
channels its steps name and before the monitors that name a policy. Written
only through ``alerts.services.policy_save`` (and ``policy_delete`` on a
prune)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.db.models import Field

from monitors.config.document import Context, register_section
from monitors.config.errors import ConfigError
from monitors.models import EscalationPolicy, Project

from .services import policy_delete, policy_save

STEP_FIELDS = ("delay_minutes", "repeat_every_minutes", "channels")
# As the API's step serializer: a week.
MINUTES_MAX = 10080


def _minutes(value: Any, path: str, *, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(path, "A whole number of minutes.")
    if not least <= value <= MINUTES_MAX:
        raise ConfigError(path, f"From {least} to {MINUTES_MAX} minutes.")
    return value


class EscalationPoliciesSection:
    key = "escalation_policies"
    order = 15  # after channels (steps name them), before monitors
    secret_fields: frozenset[str] = frozenset()

    def stored(self, project: Project) -> dict[str, EscalationPolicy]:
        return {
            policy.name: policy
            for policy in EscalationPolicy.objects.filter(
                project=project
            ).prefetch_related("steps__channels")
        }

    def export(self, project: Project) -> list[dict[str, Any]]:
        policies = EscalationPolicy.objects.filter(project=project).prefetch_related(
            "steps__channels"
        )
        out = []
        for policy in sorted(policies, key=lambda p: p.name):
            steps = []
            for step in self.current(policy)["steps"]:
                if step["repeat_every_minutes"] is None:
                    del step["repeat_every_minutes"]
                steps.append(step)
            out.append({"name": policy.name, "steps": steps})
        return out

    def current(self, obj: EscalationPolicy) -> dict[str, Any]:
        return {
            "name": obj.name,
            "steps": [
                {
                    "delay_minutes": step.delay_minutes,
                    "repeat_every_minutes": step.repeat_every_minutes,
                    "channels": sorted(c.name for c in step.channels.all()),
                }
                for step in obj.steps.all()
            ],
        }

    def _step(
        self, step: Any, path: str, ctx: Context
    ) -> tuple[int, int | None, list[str]]:
        if not isinstance(step, Mapping):
            raise ConfigError(path, "A mapping: delay_minutes, channels, ...")
        unknown = sorted(set(step) - set(STEP_FIELDS))
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "Not a step setting.")
        delay = _minutes(step.get("delay_minutes", 0), f"{path}.delay_minutes", least=0)
        repeat = step.get("repeat_every_minutes")
        if repeat is not None:
            repeat = _minutes(repeat, f"{path}.repeat_every_minutes", least=1)
        names = step.get("channels")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{path}.channels", "A list of channel names.")
        if not names:
            raise ConfigError(f"{path}.channels", "Pick at least one channel.")
        known = ctx.names.get("channels", set())
        for index, name in enumerate(names):
            if name not in known:
                raise ConfigError(f"{path}.channels[{index}]", f"No channel {name!r}.")
        return delay, repeat, sorted(set(names))

    def desired(
        self,
        item: Mapping[str, Any],
        *,
        stored: EscalationPolicy | None,
        path: str,
        ctx: Context,
    ) -> dict[str, Any]:
        unknown = sorted(set(item) - {"name", "steps"})
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "Not a policy setting.")
        name = str(item["name"]).strip()
        limit = cast(Field, EscalationPolicy._meta.get_field("name")).max_length or 0
        if len(name) > limit:
            raise ConfigError(f"{path}.name", f"At most {limit} characters.")
        steps = item.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ConfigError(f"{path}.steps", "A policy needs at least one step.")
        read = [
            self._step(step, f"{path}.steps[{index}]", ctx)
            for index, step in enumerate(steps)
        ]
        # Stored in delay order (policy_save), so compared in it.
        ordered = sorted(enumerate(read), key=lambda s: (s[1][0], s[0]))
        return {
            "name": name,
            "steps": [
                {"delay_minutes": d, "repeat_every_minutes": r, "channels": c}
                for _, (d, r, c) in ordered
            ],
        }

    def _steps(self, steps: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
        return [
            {**step, "channels": ctx.objects("channels", step["channels"])}
            for step in steps
        ]

    def create(self, values: dict[str, Any], ctx: Context) -> None:
        policy_save(
            project=ctx.project,
            name=values["name"],
            steps=self._steps(values["steps"], ctx),
        )

    def update(
        self, obj: EscalationPolicy, changes: dict[str, Any], ctx: Context
    ) -> None:
        steps = changes.get("steps")
        policy_save(
            project=ctx.project,
            name=changes.get("name", obj.name),
            steps=self._steps(steps, ctx) if steps is not None else None,
            policy=obj,
        )

    def delete(self, obj: EscalationPolicy, ctx: Context) -> None:
        policy_delete(policy=obj)


def register() -> None:
    register_section(EscalationPoliciesSection())
