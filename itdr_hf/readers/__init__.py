"""The raw-file toolkit the source readers share; sources themselves live in :mod:`itdr_hf.sources`.

- :mod:`.budget`: the bad-line budget (:class:`~.budget.BadLines`): a reader skips a broken line,
  counts it, and fails only past ``max_bad_line_fraction``, naming the first bad line and field.
- :mod:`.opening`: the one place that opens raw files, plain or gzipped (told apart by content,
  not name), and explains undecodable bytes.
- :mod:`.delimited`: CSV / TSV / ``::``-separated files (pyarrow's fast reader, with a Python
  rescan that names the first broken line when it fails).
- :mod:`.jsonl`: JSON lines (and Python-literal lines): block-parallel for huge files,
  line by line with typed conversion for the rest, and user-written texts read back on demand.
- :mod:`.spill`: rows grouped by a key, spilled to disk by the key's hash past a limit, so work
  that needs all of a key's rows together runs in bounded memory on any file size.
"""
