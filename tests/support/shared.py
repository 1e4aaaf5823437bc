"""Where the shared ACS contract folder is: `<repo>/../shared`, or `$ACS_SHARED_DIR`.

CI always has it; a user's clone may not, so tests that read it skip with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_root() -> Path:
    configured = os.environ.get("ACS_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


def contract_dir() -> Path | None:
    """`<shared>/acs-contract`, or None when it is absent."""
    path = shared_root() / "acs-contract"
    return path if path.is_dir() else None


def contract_file(relative: str) -> Path:
    """A file of the contract folder; skips the calling test when it is absent."""
    path = shared_root() / "acs-contract" / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent (set ACS_SHARED_DIR to the shared folder to run this)")
    return path
