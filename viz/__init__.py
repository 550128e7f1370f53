"""Render minigrad graphs with Graphviz."""
