"""Keeps the long-lived start-up objects out of the garbage collector's way."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Call once the app, its schema and its runtime are built.

    A full collection walks every tracked object: some 180k live from start-up to exit (modules,
    the schema, SQLAlchemy's and pydantic's machinery), so a serving process paid about 100 ms every
    dozen board views. Frozen, they are never walked again; only what requests make is collected.
    """
    gc.collect()
    gc.freeze()
