"""geobp: service."""
