"""Synthetic demo samples in each source's real raw format (see README.txt)."""
