"""The contract tests' Node and Chromium fixtures, for the first-run test's screenshot of /board."""

from tests.contract.conftest import artifacts, chromium, node_clients

__all__ = ["artifacts", "chromium", "node_clients"]
