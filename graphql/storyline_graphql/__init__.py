"""Storyline's GraphQL API: a Strawberry schema, thin over the service."""
