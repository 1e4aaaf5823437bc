"""`python -m console`: serve the call console on loopback (the function key comes from the
environment, CONSOLE_FUNCTION_KEY, never from the command line where `ps` shows it)."""

from __future__ import annotations

import argparse
import os

from aiohttp import web

from console.server import Upstreams, make_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--app-url", required=True, help="the function app, e.g. http://127.0.0.1:7071")
    parser.add_argument("--emulator-url", required=True, help="the ACS emulator, e.g. http://127.0.0.1:8089")
    args = parser.parse_args()
    upstreams = Upstreams(
        app_url=args.app_url.rstrip("/"),
        emulator_url=args.emulator_url.rstrip("/"),
        function_key=os.environ.get("CONSOLE_FUNCTION_KEY", ""),
    )
    web.run_app(make_app(upstreams), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
