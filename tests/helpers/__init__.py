"""Shared test helpers (media_factory: generated videos with a decodable frame counter)."""
