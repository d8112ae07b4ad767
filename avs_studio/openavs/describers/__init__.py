"""Audio describers (audio segment -> text). Each module registers its stage in
avs_studio.openavs.registry.DESCRIBERS when imported (avs_studio.openavs imports them lazily by name)."""
