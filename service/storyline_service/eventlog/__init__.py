"""The event log itself: its hash chain, export, import and verification."""
