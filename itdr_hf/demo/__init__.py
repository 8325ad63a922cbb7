"""Synthetic demo sample in the real MovieLens raw formats (see README.txt)."""
