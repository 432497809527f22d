"""The signature checks that frontend-contract/README.md gives receivers, in Python and Node, work."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from storyline_domain.webhooks import signature
from tests.contract.documents import CONTRACT

SECRET = "whsec_Zx1-test-secret"
BODY = '{"eventType":"StoryMoved","entry":{"summary":"bob moved PAY-12 from To Do to Doing ✓"}}'.encode()


def snippet(language: str) -> str:
    text = (CONTRACT / "README.md").read_text()
    section = text[text.index("## Webhooks") :]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match, f"no {language} block in the README's Webhooks section"
    return match.group(1)


def test_the_python_check_accepts_a_delivery_and_refuses_a_tampered_one() -> None:
    namespace: dict[str, Any] = {}
    exec(snippet("python"), namespace)
    verified = namespace["verified"]
    assert verified(SECRET, BODY, signature(SECRET, BODY))
    assert not verified(SECRET, BODY + b" ", signature(SECRET, BODY))
    assert not verified("another secret", BODY, signature(SECRET, BODY))


def test_the_node_check_accepts_a_delivery_and_refuses_a_tampered_one(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs Node")
    script = tmp_path / "verify.mjs"
    script.write_text(
        snippet("js")
        + 'import { readFileSync } from "node:fs";\n'
        + "const [secret, path, header] = process.argv.slice(2);\n"
        + "process.exit(verified(secret, readFileSync(path), header) ? 0 : 1);\n"
    )
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(BODY)
    bad.write_bytes(BODY + b" ")

    def check(path: Path, header: str) -> int:
        return subprocess.run([node, str(script), SECRET, str(path), header], check=False).returncode

    assert check(good, signature(SECRET, BODY)) == 0
    assert check(bad, signature(SECRET, BODY)) == 1
    assert check(good, "sha256=00") == 1
