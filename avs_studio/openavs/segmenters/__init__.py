"""Text and point segmenters. Each module registers its stages in avs_studio.openavs.registry
(SEGMENTERS, POINT_SEGMENTERS) when imported (avs_studio.openavs imports them lazily by name)."""
