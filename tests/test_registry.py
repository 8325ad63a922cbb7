import pytest

from itdr_hf.errors import ConfigError
from itdr_hf.matrix import paper_sources
from itdr_hf.paper import ORDER
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


def test_the_papers_sources_and_subtasks_are_registered():
    assert set(SOURCES.names()) == set(paper_sources())
    assert set(SUBTASKS.names()) == set(ORDER)


def test_a_class_registers_under_its_own_name_with_one_line():
    registry: Registry[type] = Registry("widget")

    @registry.register
    class Gadget:
        name = "gadget"

    assert registry.get("gadget") is Gadget
    registry.unregister("gadget")
    with pytest.raises(ConfigError, match="unknown widget 'gadget'"):
        registry.get("gadget")
