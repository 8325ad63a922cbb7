"""itdr-hf: build ITDR, the instruction-tuning dataset for LLM recommendation, as a Hugging Face dataset."""

__version__ = "0.1.0"

from .config import BuildConfig  # noqa: E402
from .errors import ConfigError, DataError, ItdrError, SourceUnavailable  # noqa: E402

__all__ = [
    "BuildConfig", "ConfigError", "DataError", "ItdrError", "SourceUnavailable", "__version__", "build", "build_dataset",
]


def build(*args, **kwargs):
    """Build ITDR into a Hub-layout folder; see :func:`itdr_hf.assemble.build_dataset`.

    The work lives in ``itdr_hf.assemble`` (not a submodule named ``build``, which would replace
    this function by the module on first import), imported lazily because it loads ``datasets``."""
    from .assemble import build_dataset

    return build_dataset(*args, **kwargs)


def __getattr__(name: str):
    if name == "build_dataset":
        from .assemble import build_dataset

        return build_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
