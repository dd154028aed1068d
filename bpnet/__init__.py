"""geobp: bpnet."""
