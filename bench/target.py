"""The benchmark's loopback target (aiohttp.web), on several 127.x addresses.

``/ok/<n>`` answers 200 after a delay fixed per path, spread between the
given bounds (a realistic mix of fast and slow sites); ``/hang/<n>`` never
answers, so its check runs into its timeout.

    python bench/target.py PORT HOSTS MIN_MS MAX_MS
"""

from __future__ import annotations

import asyncio
import sys
import zlib

from aiohttp import web


def main() -> None:
    port, hosts = int(sys.argv[1]), sys.argv[2].split(",")
    low, high = int(sys.argv[3]), int(sys.argv[4])

    async def ok(request: web.Request) -> web.Response:
        spread = zlib.crc32(request.path.encode()) % (high - low + 1)
        await asyncio.sleep((low + spread) / 1000)
        return web.Response(text="ok")

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/ok/{n}", ok)
    app.router.add_get("/hang/{n}", hang)
    web.run_app(app, host=hosts, port=port, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
