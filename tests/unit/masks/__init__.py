"""Tests of avs_studio.masks."""
