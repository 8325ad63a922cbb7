"""Config dataclasses become flags in one place (itdr_hf/options.py), for every option group of itdr-build."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from itdr_hf.card import CardOptions
from itdr_hf.cli import _parser
from itdr_hf.config import BuildConfig
from itdr_hf.options import add_flags, from_flags
from itdr_hf.references.config import ReferenceConfig


@dataclass(frozen=True)
class Widget:
    size: int = field(default=3, metadata={"help": "How big."})
    ratio: float = field(default=0.5, metadata={"help": "50% of it."})
    shape: str = field(default="round", metadata={"help": "Its shape.", "choices": ("round", "square")})
    shiny: bool = field(default=False, metadata={"help": "Shiny or not."})


def test_each_field_is_a_typed_flag_with_its_help_and_default():
    parser = argparse.ArgumentParser()
    add_flags(parser, Widget, prefix="widget_")
    args = parser.parse_args(["--widget-size", "7", "--widget-ratio", "0.25", "--widget-shape", "square", "--widget-shiny"])
    assert from_flags(Widget, args, prefix="widget_") == Widget(size=7, ratio=0.25, shape="square", shiny=True)
    assert from_flags(Widget, parser.parse_args([]), prefix="widget_") == Widget()
    assert "50% of it. Default: 0.5." in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--widget-shape", "oval"])


def test_itdr_build_defaults_are_the_dataclass_defaults():
    args = _parser().parse_args([])
    assert from_flags(BuildConfig, args) == BuildConfig()
    assert from_flags(ReferenceConfig, args, prefix="reference_") == ReferenceConfig()
    assert from_flags(CardOptions, args, prefix="card_") == CardOptions()
