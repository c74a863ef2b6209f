"""Compression recipes: each turns a base model folder into a complete submission folder (harness compress)."""
