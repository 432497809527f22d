"""Storyline's domain: event-sourced boards, stories, sprints and epics.

Pure: no I/O, no clock reads and no random ids. Callers pass time and
identity in through a :class:`Stamp`.
"""
