from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp


@dataclass(frozen=True)
class CheckSpec:
    """Plain settings for one check; built from a Monitor by the runner."""

    kind: str
    url: str
    timeout: float
    options: dict[str, Any] = field(default_factory=dict)
    # The monitor's check interval: not the check's concern, but the
    # runner's lag guard reads it (a batch later than a share of it is missed).
    interval: float = 0


@dataclass
class CheckResult:
    status: str  # "up" | "down" | "degraded"
    response_time_ms: int | None = None
    status_code: int | None = None
    # Machine-readable class: dns, connect, tls, timeout, http_status,
    # assertion, body_too_large, too_many_redirects, blocked_address,
    # no_ping (heartbeat), slow (degraded), invalid_url, protocol, internal.
    error: str = ""
    message: str = ""  # for a person
    details: dict[str, Any] = field(default_factory=dict)  # bounded evidence
    # The server's certificate summary (https), whatever the status: the
    # recorder keeps the monitor's expiry from it. Stored in the tick only
    # as part of a failing tick's evidence, so healthy ticks stay small.
    certificate: dict[str, Any] | None = None


@dataclass
class CheckContext:
    """What a batch shares: one guarded HTTP session, the address rule."""

    session: aiohttp.ClientSession
    allow_private: bool
    user_agent: str
    # Trust store for https checks (system CAs plus UPTIME_EXTRA_CA_FILE).
    ssl_context: ssl.SSLContext | None = None
    # The operator's resolver (``ip:port``) for DNS checks that name none;
    # empty means the system's. Trusted like the system's, so it may be
    # private; the answers are still held to the address rule.
    default_resolver: str = ""


def down(error: str, message: str, **kwargs: Any) -> CheckResult:
    return CheckResult(status="down", error=error, message=message[:500], **kwargs)


def up_or_degraded(
    spec: CheckSpec, message: str, *, response_time_ms: int, **kwargs: Any
) -> CheckResult:
    """UP, or DEGRADED when slower than the monitor's threshold (any kind)."""
    threshold = spec.options.get("degraded_threshold_ms")
    if threshold and response_time_ms > int(threshold):
        return CheckResult(
            status="degraded",
            error="slow",
            message=(
                f"{message}, but slow: {response_time_ms} ms is above the "
                f"{int(threshold)} ms threshold."
            )[:500],
            response_time_ms=response_time_ms,
            **kwargs,
        )
    return CheckResult(
        status="up", message=message[:500], response_time_ms=response_time_ms, **kwargs
    )


# --- How a kind describes itself ---------------------------------------------
#
# The runner, the options validation, the API serializer, the dashboard form
# and the admin read these declarations instead of naming kinds one by one:
# a new kind is its module (with a CheckKind) in the registry plus its model
# fields.


class TargetCleaner(Protocol):
    def __call__(self, target: str, *, allow_private: bool) -> str:
        """The target to store; ValueError says what is wrong with it."""
        ...


class TogetherRule(Protocol):
    def __call__(
        self, values: Mapping[str, Any], *, allow_private: bool
    ) -> dict[str, str]:
        """Errors of options that are only wrong together ({field: message})."""
        ...


class SettingsReader(Protocol):
    def __call__(self, source: Any, config: Any) -> dict[str, Any]:
        """A kind's plain check settings from an object with the monitor's
        attributes (``source``) and one with the deployment's settings."""
        ...


@dataclass(frozen=True)
class OptionField:
    """One option a user sets: a Monitor field of this name, the API field,
    a dashboard and an admin input. Its type comes from the model field."""

    name: str
    label: str
    default: Any
    help_text: str = ""  # empty: the model field's own help text
    choices: tuple[str, ...] = ()  # when set, the value must be one of them
    min_value: int | None = None
    max_value: int | None = None
    # Parses one value: returns what to store, raises ValueError with the
    # message shown next to the field.
    clean: Callable[[Any], Any] | None = None
    write_only: bool = False  # never shown back (API, forms, admin)
    multiline: bool = False  # a text area in the dashboard form


def _no_settings(source: Any, config: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class CheckKind:
    """Everything the rest of the code needs to know about one check kind."""

    name: str  # stored in Monitor.kind (at most 10 characters)
    label: str  # shown to people
    run: Callable[[CheckSpec, CheckContext], Awaitable[CheckResult]]
    clean_target: TargetCleaner
    options: tuple[OptionField, ...] = ()
    check_together: TogetherRule | None = None
    settings_from: SettingsReader = _no_settings
    # Read-only monitor attributes shown with the options (admin, API).
    shown: tuple[str, ...] = ()
    # The target input's wording in the dashboard form while this kind is
    # chosen (Monitor.url holds the target whatever the kind).
    target_label: str = "URL"
    target_help: str = ""
    # Evaluated from the database, not the network: one region is enough,
    # and one tick per slot is the whole vote.
    passive: bool = False

    def __call__(self, spec: CheckSpec, ctx: CheckContext) -> Awaitable[CheckResult]:
        # A registry entry runs like the check coroutine it declares.
        return self.run(spec, ctx)

    def spec_from(self, source: Any, config: Any) -> CheckSpec:
        """Plain settings for one check of this kind (checks never see models)."""
        options = {option.name: getattr(source, option.name) for option in COMMON}
        options.update(self.settings_from(source, config))
        return CheckSpec(
            kind=self.name,
            url=source.url,
            timeout=source.timeout_seconds,
            options=options,
        )


# Options every kind takes, whatever it checks.
COMMON = (
    OptionField(
        "degraded_threshold_ms",
        "Degraded above (ms)",
        default=None,
        min_value=1,
        max_value=600_000,
    ),
)
