"""Turn task rows into predictions: batching, retrieval, one formulation per task kind."""
