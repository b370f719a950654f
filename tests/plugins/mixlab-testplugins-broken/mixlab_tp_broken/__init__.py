"""Broken plugins: each entry point fails in its own way."""
