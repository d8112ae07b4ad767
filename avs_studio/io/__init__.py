"""avs_studio.io layer (see docs/CONTRACTS.md)."""
