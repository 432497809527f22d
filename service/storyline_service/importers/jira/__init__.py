"""Jira REST issue JSON, one issue per line, into a board with its sprints and history."""
