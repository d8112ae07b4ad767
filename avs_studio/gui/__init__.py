"""avs_studio.gui layer (see docs/CONTRACTS.md)."""
