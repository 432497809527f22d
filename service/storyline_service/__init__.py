"""Storyline's service layer: the application, its projections, settings, web app and CLI."""
