"""Echoel Live: a real-time audio-reactive visual engine for live performers."""

__version__ = "0.1.0"
