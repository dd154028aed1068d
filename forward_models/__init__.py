"""geobp: forward_models."""
