"""Widgets of the twin TUI, one per module."""
