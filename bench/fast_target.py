"""A fast loopback HTTP target for the check benchmark (aiohttp.web)."""

from __future__ import annotations

import sys

from aiohttp import web


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    hosts = sys.argv[2].split(",") if len(sys.argv) > 2 else ["127.0.0.1"]
    web.run_app(app, host=hosts, port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
