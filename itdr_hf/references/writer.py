"""Replace derived IR/TUI references by LLM-written ones, resumably and reproducibly.

Works on any cell whose rows carry a ``reference_provenance`` column starting with
``derived:``; the prompt is the subtask's ``builders/<subtask>/reference_prompt.j2``, rendered
from the row (``input``: the item/user texts the example shows; ``derived``: the derived
reference, i.e. the facts computed from the data; ``task``, ``source``, ``row``). The prompt
does not include the row's task description, so the 'w/o task description' ablation reuses
the same answers.

For every such row the writer rewrites ``output``, the assistant message of ``messages`` and
``reference_provenance`` (``llm:<writer>:<model>``). Answers come from the cache when present,
else from the backend, with bounded concurrency, retries on transient errors (exponential
backoff with jitter; 429's Retry-After honoured) and quality gates (a rejected answer is asked
again, at ``retry_temperature``, up to ``max_attempts`` times). Each accepted answer is cached
as it arrives. A row that still fails is never written with an empty or error text: the build
fails with a summary (answers so far stay cached, so a rerun sends only the missing requests),
or, with ``on_failure='keep-derived'``, the row keeps its derived reference and provenance.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import jinja2
from tqdm.auto import tqdm

from ..cells import Cell
from ..errors import ConfigError, ItdrError
from ..templates import render
from .backends import Backend, BackendError, RequestFailed, TransientError, make_backend
from .cache import Entry, ReferenceCache, cache_key, prompt_digest
from .config import ReferenceConfig
from .quality import clean, rejection

logger = logging.getLogger(__name__)

PROVENANCE_COLUMN = "reference_provenance"
PROMPT_TEMPLATE = "reference_prompt"


class ReferenceWriteError(ItdrError):
    """Some references could not be written; the message carries the summary and the first reasons."""

    def __init__(self, message: str, summary: ReferenceSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class ReferenceSummary:
    """What one writer run did, counted in rows (``rejected`` and ``retries`` count answers and requests)."""

    rows: int = 0
    written: int = 0
    cached: int = 0
    failed: int = 0
    kept_derived: int = 0
    rejected: int = 0
    retries: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list, repr=False)  # cache keys of the answers the rows now hold

    def __str__(self) -> str:
        text = (f"references: {self.rows} rows — {self.written} written, {self.cached} cached, {self.failed} failed, "
                f"{self.rejected} answers rejected, {self.retries} transient retries")
        return text + (f", {self.kept_derived} kept their derived reference" if self.kept_derived else "")


@dataclass
class _Job:
    cell: int
    split: str
    index: int
    row_id: str
    messages: list[dict]
    prompt: str
    prompt_sha256: str
    key: str


class _Abort(Exception):
    """Raised in workers once the run is being stopped."""


def needs_reference(row: dict) -> bool:
    return str(row.get(PROVENANCE_COLUMN) or "").startswith("derived:")


def reference_prompt(row: dict) -> str:
    """The user prompt that asks for ``row``'s reference, from its subtask's template."""
    try:
        return render(row["task"], PROMPT_TEMPLATE, input=row["input"], derived=row["output"],
                      task=row["task"], source=row["source"], row=row)
    except jinja2.TemplateNotFound:
        raise ConfigError(
            f"subtask {row['task']!r} has a {PROVENANCE_COLUMN} column but no builders/{row['task']}/"
            f"{PROMPT_TEMPLATE}.j2 to ask an LLM for its references"
        ) from None


def write_references(
    cells: Iterable[Cell], config: ReferenceConfig, *, backend: Backend | None = None, export_also: Iterable[str] = ()
) -> tuple[list[Cell], ReferenceSummary]:
    """Return copies of ``cells`` with LLM references, and what was done; the input cells are not changed.

    ``config.cache_export`` receives the answers these cells use plus those of ``export_also`` (cache keys of
    an earlier call in the same build, whose export this one would otherwise replace)."""
    cells = list(cells)
    if not config.enabled or not any(needs_reference(r) for c in cells for rows in c.rows.values() for r in rows):
        return cells, ReferenceSummary()
    with ReferenceCache(config.cache_path()) as cache:
        if config.cache_import:
            logger.info("imported %d answers from %s", cache.import_jsonl(config.cache_import), config.cache_import)
        run = _Run(config, cache, backend)
        out = run.write(cells)
        if config.cache_export:
            count = cache.export_jsonl(config.cache_export, keys=[*export_also, *run.summary.keys])
            logger.info("exported %d answers to %s", count, config.cache_export)
    return out, run.summary


class _Run:
    def __init__(self, config: ReferenceConfig, cache: ReferenceCache, backend: Backend | None) -> None:
        self.config = config
        self.cache = cache
        self._backend = backend
        self.summary = ReferenceSummary()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._params = config.generation_params()
        self._streak = 0
        self._tripped = ""  # the failure that reached max_consecutive_failures

    def write(self, cells: list[Cell]) -> list[Cell]:
        out = [Cell(c.subtask, c.source, {split: list(rows) for split, rows in c.rows.items()}) for c in cells]
        jobs = self._jobs(out)
        self.summary.rows = len(jobs)
        pending = [job for job in jobs if not self._from_cache(out, job)]
        if pending and self.config.offline:
            for job in pending:
                self._fail(out, job, "not in the reference cache, and --reference-offline forbids asking the model")
        elif pending:
            self._fetch_all(out, pending)
        self._finish()
        return out

    def _jobs(self, cells: list[Cell]) -> list[_Job]:
        system = [{"role": "system", "content": self.config.system_prompt}] if self.config.system_prompt else []
        jobs = []
        for c, cell in enumerate(cells):
            for split, rows in cell.rows.items():
                for i, row in enumerate(rows):
                    if not needs_reference(row):
                        continue
                    prompt = reference_prompt(row)
                    messages = [*system, {"role": "user", "content": prompt}]
                    digest = prompt_digest(messages)
                    key = cache_key(self.config.writer, self.config.model_label, digest, self._params)
                    jobs.append(_Job(c, split, i, row["id"], messages, prompt, digest, key))
        return jobs

    def _from_cache(self, cells: list[Cell], job: _Job) -> bool:
        answer = self.cache.get(job.key)
        if answer is None:
            return False
        reason = rejection(answer, job.prompt, self.config)
        if reason is not None:  # gates were tightened since it was cached: ask again
            logger.info("cached answer for %s no longer passes the quality gates (%s)", job.row_id, reason)
            return False
        self._apply(cells, job, answer)
        self.summary.cached += 1
        return True

    def _fetch_all(self, cells: list[Cell], pending: list[_Job]) -> None:
        backend = self._backend or make_backend(self.config)
        workers = min(self.config.concurrency, backend.max_concurrency or self.config.concurrency, len(pending))
        progress = tqdm(total=len(pending), desc="references", unit="ref", disable=None)
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="itdr-reference")
        same_prompt: dict[str, list[_Job]] = {}
        for job in pending:  # rows with identical prompts share one request
            same_prompt.setdefault(job.key, []).append(job)
        try:
            futures = {executor.submit(self._tracked, backend, jobs[0]): jobs for jobs in same_prompt.values()}
            for future in as_completed(futures):
                jobs = futures[future]
                try:
                    answer = future.result()
                except _Abort:
                    pass
                except RequestFailed as exc:
                    for job in jobs:
                        self._fail(cells, job, str(exc))
                else:
                    for job in jobs:
                        self._apply(cells, job, answer)
                    self.summary.written += len(jobs)
                progress.update(len(jobs))
                progress.set_postfix(written=self.summary.written, failed=self.summary.failed,
                                     rejected=self.summary.rejected, refresh=False)
            if self._tripped:  # every worker has stopped; the summary counts what finished
                raise BackendError(
                    f"{self.config.max_consecutive_failures} references failed in a row, the last with: "
                    f"{self._tripped}\n  fix: check the endpoint; --reference-max-consecutive-failures sets this limit"
                )
        except BaseException as exc:  # a fatal backend error, Ctrl-C: stop workers, keep what is cached
            self._stop.set()
            executor.shutdown(wait=not isinstance(exc, KeyboardInterrupt), cancel_futures=True)
            if isinstance(exc, BackendError):
                raise BackendError(f"{exc}\n  {self.summary}") from None
            raise
        else:
            executor.shutdown(wait=True)
        finally:
            progress.close()
            if self._backend is None:
                backend.close()

    def _tracked(self, backend: Backend, job: _Job) -> str:
        """:meth:`_answer`, counting failures in a row; the one that reaches the limit stops every worker
        before it sends another request (an endpoint that is down should not take hours to give up)."""
        try:
            answer = self._answer(backend, job)
        except RequestFailed as exc:
            with self._lock:
                self._streak += 1
                if self._streak == self.config.max_consecutive_failures:
                    self._tripped = str(exc)
                    self._stop.set()
            raise
        with self._lock:
            self._streak = 0
        return answer

    def _answer(self, backend: Backend, job: _Job) -> str:
        """Ask until an answer passes the gates; cache it at once. Runs in a worker thread."""
        reason = ""
        for attempt in range(self.config.max_attempts):
            params = dict(self._params)
            if attempt:
                params["temperature"] = max(self.config.retry_temperature, self.config.temperature)
            completion = self._complete(backend, job, params)
            answer = clean(completion.text)
            reason = rejection(answer, job.prompt, self.config, truncated=completion.truncated)
            if reason is None:
                self.cache.put(Entry(job.key, self.config.writer, self.config.model_label, job.prompt_sha256,
                                     self._params, answer, job.row_id))
                return answer
            with self._lock:
                self.summary.rejected += 1
            logger.info("rejected answer %d for %s: %s", attempt + 1, job.row_id, reason)
        raise RequestFailed(f"all {self.config.max_attempts} answers rejected; last: {reason}")

    def _complete(self, backend: Backend, job: _Job, params: dict):
        for retry in range(self.config.max_retries + 1):
            if self._stop.is_set():
                raise _Abort()
            with self._lock:
                self.summary.requests += 1
            try:
                return backend.complete(job.messages, params)
            except TransientError as exc:
                if retry == self.config.max_retries:
                    raise RequestFailed(f"gave up after {retry} retries: {exc}") from None
                with self._lock:
                    self.summary.retries += 1
                delay = self._delay(retry, exc.retry_after)
                logger.info("retrying %s in %.2f s: %s", job.row_id, delay, exc)
                if self._stop.wait(delay):
                    raise _Abort() from None
        raise AssertionError("unreachable")

    def _delay(self, retry: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's Retry-After is a floor, never shortened."""
        cap = self.config.retry_max_delay
        if retry_after is not None:
            return min(retry_after, cap) + random.uniform(0, 0.1 * self.config.retry_base_delay)
        step = min(cap, self.config.retry_base_delay * 2**retry)
        return step / 2 + random.uniform(0, step / 2)

    def _apply(self, cells: list[Cell], job: _Job, answer: str) -> None:
        rows = cells[job.cell].rows[job.split]
        row = dict(rows[job.index])
        row["output"] = answer
        row["messages"] = [*row["messages"][:-1], {"role": "assistant", "content": answer}]
        row[PROVENANCE_COLUMN] = self.config.provenance
        rows[job.index] = row
        self.summary.keys.append(job.key)

    def _fail(self, cells: list[Cell], job: _Job, reason: str) -> None:
        self.summary.failed += 1
        if len(self.summary.errors) < 5:
            self.summary.errors.append(f"{job.row_id}: {reason}")
        if self.config.on_failure == "keep-derived":
            self.summary.kept_derived += 1

    def _finish(self) -> None:
        summary = self.summary
        tqdm.write(str(summary), file=sys.stderr)
        logger.info("%s", summary)
        if summary.failed and self.config.on_failure == "fail":
            reasons = "\n".join(f"  - {line}" for line in summary.errors)
            if summary.failed > len(summary.errors):
                reasons += f"\n  - … and {summary.failed - len(summary.errors)} more"
            raise ReferenceWriteError(
                f"{summary.failed} of {summary.rows} references could not be written:\n{reasons}\n  {summary}\n"
                "  fix: rerun to retry only the missing ones (the others are cached), or pass "
                "--reference-on-failure keep-derived to keep their derived references",
                summary,
            )
