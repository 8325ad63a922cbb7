"""itdr-hf: build ITDR, the instruction-tuning dataset for LLM recommendation, as a Hugging Face dataset."""

__version__ = "0.1.0"

from .config import BuildConfig  # noqa: E402
from .errors import ConfigError, DataError, ItdrError, SourceUnavailable  # noqa: E402

__all__ = ["BuildConfig", "ConfigError", "DataError", "ItdrError", "SourceUnavailable", "__version__", "build"]


def build(*args, **kwargs):
    """Build ITDR into a Hub-layout folder; see :func:`itdr_hf.build.build_dataset`."""
    from .build import build_dataset

    return build_dataset(*args, **kwargs)
