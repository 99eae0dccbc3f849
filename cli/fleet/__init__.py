"""Helpers of `twin fleet`: the ansible-core driver and per-host progress."""
