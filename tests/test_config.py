import dataclasses

import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.errors import ConfigError


def test_defaults_follow_the_paper():
    config = BuildConfig()
    assert config.cap_per_cell == 6250
    assert (config.train_fraction, config.validation_fraction) == (0.8, 0.1)
    assert config.eval_subset_size == 250
    assert config.tkr_positives + config.tkr_negatives == 10
    assert config.nir_negatives + 1 == 5
    assert config.task_descriptions is True


def test_every_option_has_help():
    for f in dataclasses.fields(BuildConfig):
        assert f.metadata.get("help"), f.name


def test_config_is_frozen_and_keyword_only():
    config = BuildConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        BuildConfig(1)  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train_fraction": 0.95, "validation_fraction": 0.1}, "room for a test split"),
        ({"negative_sampling": "magic"}, "negative_sampling must be one of uniform, popularity"),
        ({"cap_per_cell": 0}, "cap_per_cell"),
        ({"tkr_history": -1}, "tkr_history must not be negative"),
    ],
)
def test_invalid_options_are_rejected(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BuildConfig(**kwargs)


def test_fingerprint_changes_with_any_option():
    assert BuildConfig().fingerprint() == BuildConfig().fingerprint()
    assert BuildConfig(seed=1).fingerprint() != BuildConfig().fingerprint()
    assert BuildConfig(task_descriptions=False).fingerprint() != BuildConfig().fingerprint()
