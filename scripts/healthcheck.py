"""The image's HEALTHCHECK: exit 0 when GET /health on this container's port answers 200.

Follows the server's own settings: PORT (default 8880) and ADDRESS (empty or a wildcard = all
interfaces, so loopback answers).  Standard library only, so it runs in the runtime image.
"""

from __future__ import annotations

import os
import sys
import urllib.request

WILDCARDS = {"", "0.0.0.0", "::"}


def health_url(environ: dict[str, str]) -> str:
    port = environ.get("PORT", "").strip() or "8880"
    address = environ.get("ADDRESS", "").strip()
    host = "127.0.0.1" if address in WILDCARDS else address
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/health"


def main() -> int:
    try:
        with urllib.request.urlopen(health_url(dict(os.environ)), timeout=3) as resp:
            return 0 if resp.status == 200 else 1
    except Exception as exc:  # unreachable, 503, bad PORT: unhealthy, said in one line
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
