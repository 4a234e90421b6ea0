"""Yunque (云确): remote confirmation of intellectual-property rights at customs."""

__version__ = "0.1.0"
