"""Render ranked boards: terminal text, cells, exports, plots and the static site."""
