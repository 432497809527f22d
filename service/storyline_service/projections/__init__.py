"""Projections: the event log turned into read models, exactly once."""
