"""``post``: a guarded POST from synchronous code (alert delivery)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from .fetching import Response, fetch
from .session import DEFAULT_USER_AGENT, guarded_session

# A receiver's answer is only read for its error message.
_MAX_REPLY_BYTES = 64 * 1024


async def _post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_private: bool,
    user_agent: str,
) -> Response:
    async with guarded_session(allow_private=allow_private, user_agent=user_agent) as s:
        async with asyncio.timeout(timeout):
            return await fetch(
                s,
                url,
                method="POST",
                headers=headers,
                data=body,
                allow_private=allow_private,
                follow_redirects=False,
                max_body=_MAX_REPLY_BYTES,
            )


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = 10.0,
    allow_private: bool,
    user_agent: str = DEFAULT_USER_AGENT,
) -> Response:
    """A guarded POST from synchronous code (alert delivery). No redirects."""
    return asyncio.run(
        _post(
            url,
            body,
            headers,
            timeout=timeout,
            allow_private=allow_private,
            user_agent=user_agent,
        )
    )
