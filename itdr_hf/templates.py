"""Jinja2 templates of each subtask, loaded from the package's ``builders/<subtask>/`` folder, or
from the folder a subtask class names in ``templates`` (a subtask defined outside this package).

Templates render with ``StrictUndefined``: a variable a generator forgot to pass fails the
build instead of silently writing an empty string into 195K prompts.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import jinja2
from jinja2 import meta


def _root(subtask: str) -> str:
    """The folder whose ``<subtask>/<part>.j2`` files are the subtask's templates."""
    from .subtasks import SUBTASKS

    own = SUBTASKS.get(subtask).templates if subtask in SUBTASKS else None
    return str(own) if own is not None else str(resources.files("itdr_hf.builders"))


@cache
def environment(root: str | None = None) -> jinja2.Environment:
    root = root or str(resources.files("itdr_hf.builders"))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["rating"] = lambda value, decimals=0: f"{float(value):.{int(decimals)}f}"
    return env


@cache
def template(subtask: str, part: str) -> jinja2.Template:
    return environment(_root(subtask)).get_template(f"{subtask}/{part}.j2")


def render(subtask: str, part: str, **context: object) -> str:
    return template(subtask, part).render(**context).strip()


@cache
def variables(subtask: str, part: str) -> frozenset[str]:
    """The names a template reads, so a render can be memoised on just those values."""
    env = environment(_root(subtask))
    source = env.loader.get_source(env, f"{subtask}/{part}.j2")[0]
    return frozenset(meta.find_undeclared_variables(env.parse(source)))


_MEMO: dict = {}


def render_memoised(subtask: str, part: str, **context: object) -> str:
    """Render a part that depends on few, repeated values (the task description) once per value set."""
    key = (subtask, part, repr(sorted((k, context[k]) for k in variables(subtask, part) if k in context)))
    if key not in _MEMO:
        _MEMO[key] = render(subtask, part, **context)
    return _MEMO[key]


def template_digest() -> str:
    """A digest of every template file: part of the builder's cache hash."""
    import hashlib

    digest = hashlib.sha256()
    root = resources.files("itdr_hf.builders")
    for path in sorted(_walk(root), key=str):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _walk(node):
    for child in node.iterdir():
        if child.is_dir():
            yield from _walk(child)
        elif child.name.endswith(".j2"):
            yield child
