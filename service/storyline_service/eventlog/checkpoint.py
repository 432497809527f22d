"""Signed checkpoints: the chain's head signed with an Ed25519 key, for an auditor to keep elsewhere.

Whoever holds a checkpoint can later prove the log up to it unchanged: the link
at its sequence must still carry its hash, and the chain must verify up to there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, select

from storyline_service.eventlog.chain import Head, links


class CheckpointError(Exception):
    pass


def _message(sequence: int, hash: str, signed_at: str) -> bytes:
    return f"storyline log head\n{sequence}\n{hash}\n{signed_at}".encode()


def private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError("the checkpoint key is not an Ed25519 private key")
    return key


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign(head: Head, key: Ed25519PrivateKey) -> dict[str, Any]:
    signed_at = datetime.now(UTC).isoformat()
    signature = key.sign(_message(head.sequence, head.hash, signed_at))
    return {
        "sequence": head.sequence,
        "hash": head.hash,
        "signedAt": signed_at,
        "publicKey": public_key_hex(key.public_key()),
        "signature": signature.hex(),
    }


def check(checkpoint: dict[str, Any], trusted: Ed25519PublicKey, engine: Engine) -> Head:
    """The checkpoint's head, once its signature is the trusted key's and the chain still holds it."""
    try:
        sequence, hash = int(checkpoint["sequence"]), str(checkpoint["hash"])
        message = _message(sequence, hash, str(checkpoint["signedAt"]))
        trusted.verify(bytes.fromhex(str(checkpoint["signature"])), message)
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"not a checkpoint: {error}") from None
    except InvalidSignature:
        raise CheckpointError("the checkpoint's signature is not the trusted key's") from None
    with engine.connect() as conn:
        stored = conn.execute(select(links.c.hash).where(links.c.sequence == sequence)).scalar()
    if stored != hash:
        raise CheckpointError(f"the chain's link at sequence {sequence} is not the checkpoint's hash")
    return Head(sequence, hash)
