"""Typed errors of the io layer (importers, exporters, evaluation folders)."""

from __future__ import annotations


class DatasetError(Exception):
    """A dataset folder or file cannot be read or written; the message names the path and what to do."""


class OutputExistsError(DatasetError):
    """The export target exists and is not empty (use --force to replace it)."""
