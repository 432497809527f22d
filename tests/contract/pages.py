"""Runs one of tests/clients' Chromium scripts against a live server and returns what it saw."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.contract.documents import documents
from tests.contract.live import ADMIN_TOKEN, DemoServer


def run_page(
    script: str,
    demo: DemoServer,
    clients: Path,
    chromium: str,
    artifacts: Path,
    folder: Path,
    screenshot: str,
    **extra: object,
) -> dict[str, Any]:
    """The script signs in as admin (a second client as bob), saves ``{screenshot}.png`` (or
    ``{screenshot}-failure.png``) in ``artifacts`` and prints its findings as the last line."""
    config = {
        "baseUrl": demo.url,
        "token": ADMIN_TOKEN,
        "otherToken": demo.token("bob"),
        "chromium": chromium,
        "artifacts": str(artifacts),
        "operations": documents(),
        **extra,
    }
    (folder / "config.json").write_text(json.dumps(config))
    for old in (f"{screenshot}.png", f"{screenshot}-failure.png"):
        (artifacts / old).unlink(missing_ok=True)
    done = subprocess.run(
        ["node", script, str(folder / "config.json")],
        cwd=clients,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert result["problems"] == []
    return result
