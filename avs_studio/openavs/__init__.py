"""avs_studio.openavs layer (see docs/CONTRACTS.md)."""
