"""Dataset card templates, shipped as package data."""
