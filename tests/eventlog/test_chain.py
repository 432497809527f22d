"""The hash chain: every event linked once, in order; an edit to any stored event is found at its sequence."""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.demo import load_demo
from storyline_service.eventlog.chain import log_head
from storyline_service.eventlog.stored import GENESIS
from storyline_service.eventlog.verify import verify_chain
from storyline_service.projections.rebuild import rebuild
from storyline_service.settings import Settings
from tests.eventlog.conftest import storyline


def stored_events(runtime: Runtime) -> list[tuple[int, str, int, str, bytes]]:
    """Sequence, aggregate id, version, topic and stored bytes of every event, straight from the table."""
    with runtime.engines.write.connect() as conn:
        if conn.dialect.name == "sqlite":
            query = (
                "SELECT rowid, originator_id, originator_version, topic, state "
                "FROM stored_events ORDER BY rowid"
            )
        else:
            query = (
                "SELECT notification_id, originator_id::text, originator_version, topic, state "
                "FROM storyline_events ORDER BY notification_id"
            )
        return [(s, str(UUID(i)), v, t, bytes(b)) for s, i, v, t, b in conn.execute(text(query))]


def overwrite_state(runtime: Runtime, sequence: int, state: bytes) -> None:
    with runtime.engines.write.begin() as conn:
        if conn.dialect.name == "sqlite":
            statement = "UPDATE stored_events SET state = :state WHERE rowid = :sequence"
        else:
            statement = "UPDATE storyline_events SET state = :state WHERE notification_id = :sequence"
        assert conn.execute(text(statement), {"state": state, "sequence": sequence}).rowcount == 1


def expected_head(runtime: Runtime) -> tuple[int, str]:
    """The chain as its definition states it, computed here from the stored rows."""
    previous, sequence = GENESIS, 0
    for sequence, aggregate_id, version, topic, state in stored_events(runtime):
        canonical = json.dumps([sequence, aggregate_id, version, topic]).encode() + b"\n" + state
        previous = hashlib.sha256(bytes.fromhex(previous) + canonical).hexdigest()
    return sequence, previous


def test_every_event_is_linked_as_defined_and_a_rebuild_leaves_the_chain_alone(runtime: Runtime) -> None:
    load_demo(runtime.app, runtime.engine)
    head = log_head(runtime.engine)
    assert (head.sequence, head.hash) == expected_head(runtime)
    assert head.sequence == runtime.projector.head()
    rebuild(runtime.projector, runtime.projector.projections)
    assert log_head(runtime.engine) == head


def test_verify_finds_exactly_the_event_whose_stored_bytes_were_edited(
    runtime: Runtime, settings: Settings
) -> None:
    load_demo(runtime.app, runtime.engine)
    head = log_head(runtime.engine)
    verified = storyline(settings, "events", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines()[0] == f"OK {head.sequence} {head.hash}"

    events = stored_events(runtime)
    sequence, _, _, _, state = events[len(events) // 2]
    forged = re.sub(rb'"actor":"[^"]*"', b'"actor":"eve"', state, count=1)
    assert forged != state
    overwrite_state(runtime, sequence, forged)

    broken = storyline(settings, "events", "verify")
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"BROKEN at sequence {sequence} ")
    # The links themselves are untouched: the chain is never recomputed from current data.
    assert log_head(runtime.engine) == head


def test_a_signed_checkpoint_proves_the_log_up_to_its_head(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    load_demo(runtime.app, runtime.engine)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    signed = storyline(settings, "events", "checkpoint", STORYLINE_CHECKPOINT_KEY=pem)
    assert signed.returncode == 0, signed.stderr
    checkpoint = json.loads(signed.stdout)
    head = log_head(runtime.engine)
    assert (checkpoint["sequence"], checkpoint["hash"]) == (head.sequence, head.hash)
    path = tmp_path / "checkpoint.json"
    path.write_text(signed.stdout)
    public = tmp_path / "public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    # The log goes on; the checkpoint still holds.
    runtime.app.create_story(Caller("admin", superuser=True), "PAY", "After the checkpoint")
    proved = storyline(settings, "events", "verify", "--checkpoint", str(path), "--public-key", str(public))
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert f"checkpoint OK {head.sequence} {head.hash}" in proved.stdout

    path.write_text(json.dumps({**checkpoint, "hash": "0" * 64}))  # a head the log never had
    refused = storyline(settings, "events", "verify", "--checkpoint", str(path), "--public-key", str(public))
    assert refused.returncode == 1
    assert "checkpoint REFUSED" in refused.stdout


def test_writers_in_several_processes_get_one_chain_in_log_order(
    runtime: Runtime, settings: Settings
) -> None:
    """Each runtime stands for an API process with its own projector; all write and project at once."""
    runtime.app.create_board(Caller("admin", superuser=True), "OPS", "Operations")
    others = [bootstrap(settings) for _ in range(3)]
    try:

        def write(process: Runtime, writer: int) -> None:
            for number in range(8):
                process.app.create_story(Caller("admin", superuser=True), "OPS", f"story {writer}.{number}")

        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(write, [runtime, *others][w % 4], w) for w in range(16)]
            for future in futures:
                future.result()
    finally:
        for other in others:
            other.close()
    runtime.projector.catch_up()
    head = log_head(runtime.engine)
    assert (head.sequence, head.hash) == expected_head(runtime)
    assert verify_chain(runtime.engine).ok
