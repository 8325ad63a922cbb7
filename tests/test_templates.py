"""The template environment: its fast dict lookup gives exactly what Jinja's own rule gives."""

from __future__ import annotations

import jinja2
import pytest

from itdr_hf.templates import environment


@pytest.mark.parametrize(
    "source, context",
    [
        ("{{ d.title }}", {"d": {"title": "T"}}),
        ("{{ d.items() | list }}", {"d": {"items": "a key named like a dict method", "x": 1}}),
        ("{{ d.get('x') }}", {"d": {"get": "key", "x": 2}}),
        ("{{ d.keys }}", {"d": {"keys": "key"}}),
        ("{{ o.real }}", {"o": 3}),
        ("{{ l.0 }}", {"l": ["first"]}),
    ],
)
def test_attribute_lookup_matches_jinja(source, context):
    ours = environment().from_string(source).render(**context)
    theirs = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(source).render(**context)
    assert ours == theirs


def test_a_missing_key_is_still_an_error():
    with pytest.raises(jinja2.UndefinedError, match="title"):
        environment().from_string("{{ d.title }}").render(d={"name": "x"})


def test_render_equals_jinjas_own_render_and_keeps_its_errors():
    from itdr_hf.templates import render, template

    context = {"noun": "movie", "history": ["A", "B"], "category_label": "genres"}
    compiled = template("next_item_recommendation", "instruction")
    try:
        expected = compiled.render(**context).strip()
    except jinja2.UndefinedError as exc:  # the real template wants more: give it what it names
        pytest.fail(f"extend the context: {exc}")
    assert render("next_item_recommendation", "instruction", **context) == expected
    with pytest.raises(jinja2.UndefinedError):
        render("next_item_recommendation", "input")
