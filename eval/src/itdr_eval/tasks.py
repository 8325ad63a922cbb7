"""Registry of the seven ITDR subtasks: what each answers and how it is scored.

A subtask is registered once with :func:`register_task`; :func:`get_task` fails with the list of
known names. ``answer`` selects the parser and the per-example scorer (see ``scoring.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Task:
    """One subtask (one dataset config).

    Attributes:
        name: the dataset config name, e.g. ``rating_prediction``.
        abbr: the paper's abbreviation (RP, TKR, ...).
        root: ``UII`` (user-item interaction) or ``UIU`` (user-item understanding).
        answer: ``rating`` | ``ranking`` | ``choice`` | ``attributes`` | ``text``.
        max_new_tokens: default generation budget.
        closed_set: whether ``--predict-mode likelihood`` can score options instead of generating.
    """

    name: str
    abbr: str
    root: str
    answer: str
    max_new_tokens: int
    closed_set: bool


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} registered twice")
    TASKS[task.name] = task
    return task


for _t in (
    Task(name="rating_prediction", abbr="RP", root="UII", answer="rating", max_new_tokens=8, closed_set=True),
    Task(name="top_k_recommendation", abbr="TKR", root="UII", answer="ranking", max_new_tokens=512, closed_set=True),
    Task(name="cross_domain_recommendation", abbr="CDR", root="UII", answer="ranking", max_new_tokens=512, closed_set=True),
    Task(name="next_item_recommendation", abbr="NIR", root="UII", answer="choice", max_new_tokens=64, closed_set=True),
    Task(name="user_attribute_prediction", abbr="UAP", root="UIU", answer="attributes", max_new_tokens=96, closed_set=False),
    Task(name="interest_recognition", abbr="IR", root="UIU", answer="text", max_new_tokens=256, closed_set=False),
    Task(name="target_user_identification", abbr="TUI", root="UIU", answer="text", max_new_tokens=256, closed_set=False),
):
    register_task(_t)


def get_task(name: str) -> Task:
    """The task registered under a config name or abbreviation (case-insensitive)."""
    key = name.strip().lower()
    for task in TASKS.values():
        if key in (task.name, task.abbr.lower()):
            return task
    raise KeyError(f"unknown task {name!r}; known: {', '.join(TASKS)} (or {', '.join(t.abbr for t in TASKS.values())})")


def parse_task_list(spec: str) -> list[Task]:
    """Resolve ``'all,-top_k_recommendation'``, ``'uii'``, ``'rp,nir'`` ... into registry order.

    Items are applied left to right; ``all``/``uii``/``uiu`` add groups, ``-x`` removes ``x``.
    A spec that only removes starts from ``all``.
    """
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        raise ValueError("empty task list")
    chosen: set[str] = set()
    if all(i.startswith("-") for i in items):
        chosen = set(TASKS)
    for item in items:
        remove = item.startswith("-")
        key = item.lstrip("-").lower()
        if key == "all":
            names = set(TASKS)
        elif key in ("uii", "uiu"):
            names = {t.name for t in TASKS.values() if t.root.lower() == key}
        else:
            names = {get_task(key).name}
        chosen = chosen - names if remove else chosen | names
    if not chosen:
        raise ValueError(f"task list {spec!r} selects nothing")
    return [t for t in TASKS.values() if t.name in chosen]


def max_new_tokens_table(overrides: str) -> dict[str, int]:
    """Per-task generation budgets: registry defaults updated by ``'rp=8,tkr=512'``."""
    table = {t.name: t.max_new_tokens for t in TASKS.values()}
    for item in (s.strip() for s in overrides.split(",") if s.strip()):
        key, _, value = item.partition("=")
        if not value:
            raise ValueError(f"--max-new-tokens item {item!r} is not task=N")
        table[get_task(key).name] = int(value)
    return table


def max_new_tokens_overrides(overrides: str) -> set[str]:
    """Config names of the subtasks whose budget ``--max-new-tokens`` sets explicitly."""
    return {get_task(item.partition("=")[0]).name for item in (s.strip() for s in overrides.split(",") if s.strip())}
