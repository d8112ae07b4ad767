"""Tests of avs_studio.store."""
