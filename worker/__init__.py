"""geobp: worker."""
