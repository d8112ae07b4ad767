"""avs_studio.training layer (see docs/CONTRACTS.md)."""
