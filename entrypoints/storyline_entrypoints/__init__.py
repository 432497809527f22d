"""Storyline's composition root: the processes (API server, CLI) wired from the layers below."""
