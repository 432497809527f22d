"""A real Storyline server per backend, as the GraphQL tests have it."""

from tests.graphql.conftest import server  # noqa: F401
