"""AI Retouch bridge: per-region retouching for Lightroom Classic, computed locally."""

__version__ = "0.1.0"
