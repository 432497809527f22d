"""Importers: history from other tools, backfilled as Storyline events at its original times."""
