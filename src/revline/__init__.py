"""Revline: a self-hosted AI revenue engine."""

__version__ = "0.1.0"
