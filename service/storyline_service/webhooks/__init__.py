"""Webhooks: the event log pushed to other systems, signed, retried, never aimed inside the network."""
