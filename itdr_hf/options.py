"""Config dataclasses as command-line flags: one flag per field, its help written once on the field.

``itdr-build`` takes its construction options (:class:`~itdr_hf.config.BuildConfig`), reference
writer (``--reference-*``) and card (``--card-*``) flags from here, so a new field is a new flag
with no CLI code. (``itdr-eval`` is a separate package without a dependency on this one; its
``config.py`` has its own copy of the loop.)
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_TYPES = {"int": int, "float": float, "str": str}


def help_with_default(help: str, default: Any) -> str:
    """An option's help with its default appended once: not when the help already says it, nor ``None``.

    Escapes ``%``, which argparse treats as a format character.
    """
    text = help if default is None or "Default:" in help else f"{help} Default: {default}."
    return text.replace("%", "%%")


def add_flags(
    group: argparse._ActionsContainer,
    cls: type,
    *,
    prefix: str = "",
    show_default: bool = True,
    bool_action: type[argparse.Action] | str = argparse.BooleanOptionalAction,
) -> None:
    """``--<prefix><field>`` per field of ``cls`` (dest ``<prefix>_<field>``), typed from the field.

    The type is the field's ``type`` metadata, else its annotation (``int``, ``float``, ``str``),
    else its default's; ``choices`` metadata restricts the values; a ``bool`` field is a switch.
    """
    for f in dataclasses.fields(cls):
        flag = "--" + (prefix + f.name).replace("_", "-")
        dest = dest_of(f.name, prefix)
        help_text = f.metadata.get("help", "")
        help_text = help_with_default(help_text, f.default) if show_default else help_text.replace("%", "%%")
        if f.type in (bool, "bool") or isinstance(f.default, bool):
            group.add_argument(flag, dest=dest, action=bool_action, default=f.default, help=help_text)
            continue
        kind = f.metadata.get("type") or _TYPES.get(str(f.type)) or (str if f.default is None else type(f.default))
        group.add_argument(flag, dest=dest, type=kind, default=f.default, choices=f.metadata.get("choices"), help=help_text)


def from_flags(cls: type, args: argparse.Namespace, *, prefix: str = "") -> Any:
    """The ``cls`` instance the flags :func:`add_flags` added hold."""
    return cls(**{f.name: getattr(args, dest_of(f.name, prefix)) for f in dataclasses.fields(cls)})


def dest_of(name: str, prefix: str = "") -> str:
    return (prefix + name).replace("-", "_")
