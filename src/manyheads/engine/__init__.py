"""The training engine: backward with balancing, the explicit loop, checkpoints and events."""
