"""`python -m commands.openapi_document [FILE]`: write the document GET /api/openapi.json serves.

It loads `function_app` as the host does (every blueprint registered), so the file is exactly what
the app serves; `make lint` lints it with Redocly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import function_app  # noqa: F401 - registers every route
    from handlers.openapi import openapi_document

    text = json.dumps(openapi_document(), indent=2) + "\n"
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
