"""avs_studio.masks layer (see docs/CONTRACTS.md)."""
