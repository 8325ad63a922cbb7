import pytest

from itdr_hf.errors import ConfigError
from itdr_hf.registry import Registry
from itdr_hf.sources import SOURCES
from itdr_hf.subtasks import SUBTASKS


def test_unknown_name_lists_known_ones():
    registry: Registry[int] = Registry("widget")
    registry.register("a")(1)
    registry.register("b")(2)
    with pytest.raises(ConfigError, match=r"unknown widget 'c'; known: a, b"):
        registry.get("c")


def test_double_registration_is_refused():
    registry: Registry[int] = Registry("widget")
    registry.register("a")(1)
    with pytest.raises(ValueError, match="twice"):
        registry.register("a")(2)


def test_movielens_sources_and_subtasks_are_registered():
    assert {"movielens_32m", "movielens_1m"} <= set(SOURCES.names())
    assert {
        "rating_prediction", "top_k_recommendation", "next_item_recommendation",
        "user_attribute_prediction", "target_user_identification",
    } <= set(SUBTASKS.names())
