"""Benchmark and leaderboard harness for compressed NLP models.

Importing this package is light: nothing here imports torch or transformers.
"""

__version__ = "0.1.0"
