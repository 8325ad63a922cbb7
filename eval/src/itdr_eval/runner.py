"""``run(cfg)``: load data, optionally LoRA fine-tune, predict, score, write the output folder.

Under ``accelerate launch`` / ``torchrun`` every process runs this function: ``Trainer`` handles
DDP training; for prediction each rank takes rows ``rank::world_size`` of the rows still to do,
records are gathered to rank 0, which alone writes files.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
import os
import platform
import sys
import time
from collections.abc import Mapping
from typing import Any

from .config import EvalConfig, config_to_dict, validate
from .generation import generation_settings, parse_gen_kwargs
from .scoring import ScoringOptions, aggregate_cell
from .tasks import Task, max_new_tokens_table, parse_task_list

PACKAGES = ("itdr-eval", "torch", "transformers", "peft", "accelerate", "datasets", "evaluate",
            "sacrebleu", "rouge-score", "rapidfuzz")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def _load_eval_rows(cfg: EvalConfig, tasks: list[Task]):
    """Rows to score per subtask, plus per subtask: dataset fingerprint, content hash of the whole test
    split, and the number of rows in the subset before ``--limit`` (the "original" count)."""
    from .data import load_split, select_rows
    from .fingerprint import rows_hash

    rows, fps, content, original = {}, {}, {}, {}
    for t in tasks:
        ds = load_split(cfg.dataset, t.name, "test", cfg.revision)
        fps[t.name] = getattr(ds, "_fingerprint", "")
        all_rows = ds.to_list()
        content[t.name] = rows_hash(all_rows)
        subset = select_rows(ds, cfg.subset, None)
        counts: dict[str, int] = {}
        for r in subset:
            counts[r["source"]] = counts.get(r["source"], 0) + 1
        original[t.name] = counts
        rows[t.name] = select_rows(ds, cfg.subset, cfg.limit) if cfg.limit is not None else subset
    return rows, fps, content, original


def _present(cfg: EvalConfig) -> tuple[list[Task], list[str]]:
    """The selected subtasks the dataset has (see :func:`~itdr_eval.tasks.present_tasks`)."""
    from .data import config_names
    from .tasks import present_tasks

    return present_tasks(cfg.tasks, parse_task_list(cfg.tasks), config_names(cfg.dataset, cfg.revision),
                         f"--dataset {cfg.dataset}")


def _rating_strings(cfg: EvalConfig, tasks: list[Task]) -> dict[tuple[float, float], dict[float, str]]:
    """RP answer strings as the dataset writes them (train split of the tuning data, plus the test split)."""
    from .data import load_split
    from .scoring import rating_option_strings

    if not any(t.answer == "rating" for t in tasks):
        return {}
    rows: list[dict[str, Any]] = []
    for path, split in ((cfg.train_dataset or cfg.dataset, "train"), (cfg.dataset, "test")):
        try:
            ds = load_split(path, "rating_prediction", split, cfg.revision)
        except Exception:  # noqa: BLE001, S112 - a dataset without this split contributes nothing
            continue
        rows += ds.select_columns([c for c in ("rating", "rating_min", "rating_max", "output") if c in ds.column_names]).to_list()
    return rating_option_strings(rows)


def _load_train_rows(cfg: EvalConfig) -> list[dict[str, Any]]:
    from .data import config_names, load_split, sample_train
    from .tasks import present_tasks

    path = cfg.train_dataset or cfg.dataset
    spec = cfg.train_tasks or cfg.tasks
    train_tasks, _ = present_tasks(spec, parse_task_list(spec), config_names(path, cfg.revision), f"train data {path}")
    rows: list[dict[str, Any]] = []
    for i, t in enumerate(train_tasks):
        ds = load_split(path, t.name, "train", cfg.revision)
        rows += sample_train(ds, cfg.train_fraction, cfg.max_train_samples, cfg.seed + i).to_list()
    return rows


CPU_FINETUNE_LIMIT = 1_000_000_000  # parameters; above this a CPU fine-tune needs --force
CPU_FLOPS = 1e11  # optimistic sustained FLOP/s of a CPU, for the cost estimate


def _load_kwargs(cfg: EvalConfig, device: Any) -> dict[str, Any]:
    from .config import model_kwargs

    extra = model_kwargs(cfg.model_args)
    return {"attn_implementation": cfg.attn_implementation, "device": device, "model_kwargs": extra,
            "trust_remote_code": cfg.trust_remote_code}


def _check_cpu_finetune(cfg: EvalConfig, model: Any, device: Any, n_train_rows: int) -> None:
    """Stop before a multi-billion-parameter fine-tune on CPU (days), unless ``--force``."""
    from .errors import EvalError

    n = sum(p.numel() for p in model.parameters())
    if str(device).startswith("cpu") and n > CPU_FINETUNE_LIMIT and not cfg.force:
        tokens = n_train_rows * cfg.epochs * 1024  # rough: ~1k tokens per ITDR example
        hours = 6 * n * tokens / CPU_FLOPS / 3600
        raise EvalError(
            f"--model {cfg.model} has {n / 1e9:.1f} B parameters and no GPU is available: LoRA fine-tuning on "
            f"{n_train_rows} rows x {cfg.epochs:g} epochs would take roughly {hours:,.0f} CPU hours; run on a GPU, "
            f"use --finetune none, a smaller model or --max-train-samples, or pass --force to run anyway"
        )


def _prepare_model(cfg: EvalConfig, state: Any, timings: dict[str, Any], device: Any = None) -> tuple[Any, Any, dict[str, Any]]:
    from .errors import EvalError
    from .modeling import is_adapter, load_model, resolve_dtype
    from .prompts import resolve_format

    device = device if device is not None else state.device
    extra = _load_kwargs(cfg, device)
    dtype = extra["model_kwargs"].pop("dtype", None) or resolve_dtype(cfg.precision)
    info: dict[str, Any] = {"dtype": str(dtype).replace("torch.", "")}
    adapter_dir = os.path.join(cfg.output, "adapter")
    if cfg.finetune == "lora":
        if is_adapter(cfg.model):
            raise EvalError(f"--model {cfg.model} is a LoRA adapter: score it with --finetune none")
        if cfg.resume and is_adapter(adapter_dir):
            loaded = load_model(adapter_dir, dtype=dtype, **extra)
            info.update(base_model=loaded.base_model, adapter=adapter_dir, training="skipped (adapter exists, --resume)")
            return loaded.model, loaded.tokenizer, info
        from .train import train_lora

        loaded = load_model(cfg.model, dtype=dtype, **extra)
        fmt = resolve_format(loaded.tokenizer, cfg.prompt_format, cfg.system_instruction)
        start = time.perf_counter()
        rows = _load_train_rows(cfg)
        timings["load_train_data"] = time.perf_counter() - start
        _check_cpu_finetune(cfg, loaded.model, device, len(rows))
        model, train_info = train_lora(cfg, loaded.model, loaded.tokenizer, fmt, rows, cfg.output)
        timings["train"] = train_info["seconds"]
        info.update(base_model=cfg.model, adapter=adapter_dir, training=train_info)
        return model, loaded.tokenizer, info
    loaded = load_model(cfg.model, dtype=dtype, **extra)
    info.update(base_model=loaded.base_model, adapter=loaded.adapter)
    return loaded.model, loaded.tokenizer, info


def _predict_task(task: Task, rows: list[dict[str, Any]], predictor: Any, cfg: EvalConfig, opts: ScoringOptions,
                  max_new_tokens: int | Mapping[str, int], mode: str, state: Any, pred_path: str,
                  extra: Mapping[str, Any] | None = None) -> int:
    """Predict this rank's shard of ``rows``; one process appends per batch, several gather to rank 0.

    ``max_new_tokens`` is one budget or one per source. Returns the batch size finally used.
    """
    from accelerate.utils import gather_object

    from . import report
    from .config import batch_size_spec
    from .predict import predict_rows

    single = state.num_processes == 1
    mine: list[dict[str, Any]] = []

    def sink(records: list[dict[str, Any]]) -> None:
        if single:
            report.append_predictions(pred_path, records)  # written as we go: a crash loses one batch
        else:
            mine.extend(records)

    batch, auto = batch_size_spec(cfg.batch_size)
    shard = rows[state.process_index::state.num_processes]
    by_source: dict[str, list[dict[str, Any]]] = {}
    for r in shard:
        by_source.setdefault(r["source"], []).append(r)
    for source, cell_rows in sorted(by_source.items()):
        budget = max_new_tokens if isinstance(max_new_tokens, int) else max_new_tokens[source]
        batch = predict_rows(task, cell_rows, predictor, mode=mode, batch_size=batch, max_new_tokens=budget,
                             opts=opts, on_records=sink, progress=state.is_local_main_process, auto_batch=auto,
                             extra=extra)
    if not single:
        gathered = gather_object(mine)
        if state.is_main_process:
            report.append_predictions(pred_path, gathered)
        state.wait_for_everyone()
    return batch


def _dataset_info(cfg: EvalConfig, fingerprints: dict[str, str], content: Mapping[str, str] | None = None,
                  original: Mapping[str, Any] | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"path": cfg.dataset, "revision": cfg.revision, "train_dataset": cfg.train_dataset,
                            "local": os.path.isdir(cfg.dataset), "fingerprints": fingerprints,
                            "content_sha256": dict(content or {}), "subset": cfg.subset, "limit": cfg.limit}
    if not info["local"] and os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false"):
        try:
            from huggingface_hub import HfApi

            info["resolved_sha"] = HfApi().dataset_info(cfg.dataset, revision=cfg.revision).sha
        except Exception as exc:  # noqa: BLE001 - provenance is best effort
            info["resolved_sha"] = f"unavailable: {type(exc).__name__}"
    return info


def _git_hash() -> str | None:
    """The commit of the checkout this package runs from (``+dirty`` with local changes); None outside one."""
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _device(cfg: EvalConfig, state: Any) -> Any:
    """``--device`` for a single process; multi-process launches keep accelerate's per-rank device."""
    import torch

    if cfg.device == "auto" or state.num_processes > 1:
        return state.device
    return torch.device(cfg.device)


def _prediction_fingerprint(cfg: EvalConfig, content: Mapping[str, str], gen_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    from .config import model_kwargs
    from .fingerprint import model_identity

    margs = model_kwargs(cfg.model_args)
    return {
        "model": cfg.model,
        "model_identity": _served_identity(cfg) if cfg.backend != "local" else model_identity(cfg.model, margs.get("revision")),
        "finetune": cfg.finetune,
        "adapter_hash": None,
        "dataset": cfg.dataset,
        "revision": cfg.revision,
        "dataset_content": dict(content),
        "prompt_format": cfg.prompt_format,
        "system_instruction": cfg.system_instruction,
        "predict_mode": cfg.predict_mode,
        "likelihood_norm": cfg.likelihood_norm,
        "max_length": cfg.max_length,
        "max_new_tokens": cfg.max_new_tokens,
        "generation": generation_settings(gen_kwargs),
        "model_args": margs,
        "precision": cfg.precision,
    }


def _served_identity(cfg: EvalConfig) -> str:
    """A served model is its endpoint's model name at the (credential-free) base URL."""
    from .backends.options import redact_url

    return f"{cfg.backend}:{cfg.model}@{redact_url(cfg.base_url)}"


def _check_existing_predictions(cfg: EvalConfig, pred_path: str, done: Mapping[str, Any],
                                stored: Mapping[str, Any] | None, fp: Mapping[str, Any]) -> None:
    """Never relabel: earlier predictions continue only with the same fingerprint and ``--resume``."""
    from .errors import EvalError
    from .fingerprint import differences, sidecar

    if not done:
        return
    if stored is None:
        raise EvalError(f"{pred_path} holds {len(done)} predictions but no fingerprint ({sidecar(pred_path)}): it was "
                        f"written by an older itdr-eval or copied alone; move it away or use another --output")
    skip = ("adapter_hash",) if fp.get("adapter_hash") is None else ()
    diffs = differences(stored, fp, skip=skip)
    if diffs:
        raise EvalError(f"{pred_path} was written by a run with other settings ({'; '.join(diffs)}); use another "
                        f"--output, or move that file away to start over")
    if not cfg.resume:
        raise EvalError(f"{cfg.output} already holds {len(done)} predictions made with the same settings; pass "
                        f"--resume to continue them, or use another --output")


def _check_compare(cfg: EvalConfig, content: Mapping[str, str]) -> None:
    """``--compare`` only across runs scored on the same dataset content/revision and subset (or ``--force``)."""
    from . import report
    from .errors import EvalError

    if not cfg.compare or cfg.force:
        return
    other = report.load_results(cfg.compare).get("dataset", {})
    problems = []
    theirs = other.get("content_sha256") or {}
    if not theirs:
        problems.append("it records no dataset content hash (older itdr-eval)")
    bad = sorted(t for t in set(theirs) & set(content) if theirs[t] != content[t])
    if bad:
        problems.append(f"its test rows differ for {', '.join(bad)}")
    if other.get("revision") != cfg.revision:
        problems.append(f"dataset revision {other.get('revision')!r} vs {cfg.revision!r}")
    for key, mine in (("subset", cfg.subset), ("limit", cfg.limit)):
        if key in other and other[key] != mine:
            problems.append(f"{key} {other[key]!r} vs {mine!r}")
    if problems:
        raise EvalError(f"--compare {cfg.compare}: not comparable ({'; '.join(problems)}); rerun it on the same "
                        f"dataset and subset, or pass --force")


def _derive_budgets(cfg: EvalConfig, tasks: list[Task], tokenizer: Any, fmt: Any,
                    table: Mapping[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per task: one budget, or per source for derived (free-text) tasks; and how each was set."""
    from .budgets import DERIVED_ANSWERS, derive_cell_budgets
    from .data import load_split
    from .prompts import encode, response_text
    from .tasks import max_new_tokens_overrides

    overridden = max_new_tokens_overrides(cfg.max_new_tokens)
    budgets: dict[str, Any] = {}
    info: dict[str, Any] = {}
    for t in tasks:
        if t.answer not in DERIVED_ANSWERS or t.name in overridden:
            budgets[t.name] = table[t.name]
            info[t.name] = {"max_new_tokens": table[t.name], "rule": "--max-new-tokens" if t.name in overridden else "fixed default"}
            continue
        try:
            train = load_split(cfg.train_dataset or cfg.dataset, t.name, "train", cfg.revision).to_list()
        except Exception:  # noqa: BLE001 - no train split: keep the fixed default
            train = []
        if not train:
            budgets[t.name] = table[t.name]
            info[t.name] = {"max_new_tokens": table[t.name], "rule": "fixed default (no train references)"}
            continue
        cells = derive_cell_budgets(
            train, lambda r: len(encode(tokenizer, response_text(tokenizer, r, fmt, r["output"]), False)), cfg.seed)
        budgets[t.name] = _PerSource({s: c["max_new_tokens"] for s, c in cells.items()}, table[t.name])
        info[t.name] = {"per_source": cells, "default_for_unseen_sources": table[t.name]}
    return budgets, info


class _PerSource(dict):
    """Budgets per source; a source without train references gets the task's fixed default."""

    def __init__(self, values: Mapping[str, int], default: int) -> None:
        super().__init__(values)
        self.default = default

    def __missing__(self, key: str) -> int:
        return self.default


def _orders_pending(cfg: EvalConfig, tasks: list[Task], eval_rows: dict[str, list[dict[str, Any]]]) -> bool:
    """Issue 12: whether --candidate-orders still has permuted rows to predict (the model is then needed)."""
    if not cfg.candidate_orders:
        return False
    from .interp import orders_pending

    return orders_pending(cfg, tasks, eval_rows)


def run(cfg: EvalConfig) -> dict[str, Any] | None:
    """Run one evaluation; returns the results dict on rank 0 (``None`` on other ranks and with ``--predict-only``)."""
    from accelerate import PartialState

    from . import fingerprint as F
    from . import report
    from .modeling import is_adapter
    from .predict import Predictor
    from .prompts import resolve_format

    validate(cfg)
    # a baseline (or no model at all with --baselines) is scored without loading a model
    from .baselines import parse_baseline_name

    baseline_name = parse_baseline_name(cfg.model)
    if baseline_name is not None or not cfg.model:
        cfg = dataclasses.replace(cfg, finetune="none")
    if cfg.finetune == "auto":
        # A base model is tuned with the paper's recipe; a saved adapter is scored as it is.
        # A served model (--backend openai) is scored as it is, too.
        cfg = dataclasses.replace(cfg, finetune="none" if cfg.backend != "local" or is_adapter(cfg.model) else "lora")
    import torch

    # cpu=True lets accelerate see a multi-process CPU launch (torchrun/gloo) as distributed
    state = PartialState(cpu=not torch.cuda.is_available())
    device = _device(cfg, state)
    started = _now()
    tasks, skipped_tasks = _present(cfg)
    if skipped_tasks:
        print(f"--tasks {cfg.tasks}: {cfg.dataset} has no {', '.join(skipped_tasks)} config; scoring "
              f"{', '.join(t.name for t in tasks)}", file=sys.stderr, flush=True)
        cfg = dataclasses.replace(cfg, tasks=",".join(t.name for t in tasks))
    table = max_new_tokens_table(cfg.max_new_tokens)
    gen_kwargs = parse_gen_kwargs(cfg.gen_kwargs)
    opts = ScoringOptions(fuzzy_threshold=cfg.fuzzy_threshold, bleu_tokenize=cfg.bleu_tokenize, rouge_stemmer=cfg.rouge_stemmer)
    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    eval_rows, fingerprints, content, original = _load_eval_rows(cfg, tasks)
    timings["load_eval_data"] = time.perf_counter() - t0
    _check_compare(cfg, content)
    os.makedirs(cfg.output, exist_ok=True)

    pred_path = os.path.join(cfg.output, "predictions.jsonl")
    done = report.load_predictions(pred_path)
    stored = F.read(pred_path)
    fp = _prediction_fingerprint(cfg, content, gen_kwargs)
    adapter_dir = os.path.join(cfg.output, "adapter")
    if cfg.finetune == "lora" and cfg.resume:
        from .train import check_recipe

        check_recipe(cfg.output, cfg)  # before anything reuses the folder's adapter or checkpoints
    will_train = cfg.finetune == "lora" and not (cfg.resume and is_adapter(adapter_dir))
    if cfg.finetune == "lora" and not will_train:
        fp["adapter_hash"] = F.folder_hash(adapter_dir)
    _check_existing_predictions(cfg, pred_path, done, stored, fp)

    def mode_of(task: Task) -> str:
        if baseline_name is not None:
            return f"baseline:{baseline_name}"
        if cfg.predict_mode == "constrained" and task.closed_set:
            return "constrained"
        return "likelihood" if cfg.predict_mode == "likelihood" and task.closed_set else "generate"

    def rows_to_do() -> dict[str, list[dict[str, Any]]]:
        return {t.name: [r for r in eval_rows[t.name] if done.get(r["id"], {}).get("mode") != mode_of(t)] for t in tasks}

    todo = rows_to_do()
    model_info: dict[str, Any] = {}
    budget_info: dict[str, Any] = (stored or {}).get("budgets") or {}
    budgets: Mapping[str, Any] = table
    predictor = None
    if not cfg.model:  # --baselines alone: no model cells, only the baselines
        if not state.is_main_process:
            return None
        return _write_results(cfg, [], eval_rows, fingerprints, {"base_model": None, "adapter": None,
                              "note": "no model: model-free baselines only"}, timings, pred_path, t0,
                              {"started": started, "fingerprint": fp, "budgets": {}, "original": original, "opts": opts,
                               "tasks_skipped": skipped_tasks})
    if baseline_name is not None:  # model-free predictions
        from .interp import baseline_predictions

        if state.is_main_process:
            F.write(pred_path, fp)
        model_info = baseline_predictions(cfg, baseline_name, tasks, todo if state.is_main_process else {},
                                          opts, pred_path, {"fingerprint": F.short(fp)})
    elif cfg.backend != "local":  # a served model (--backend openai): nothing to load or train
        from .backends.bridge import served_predictor

        predictor, model_info = served_predictor(cfg, _rating_strings(cfg, tasks))
        fp.update(model_info=dict(model_info))
        if state.is_main_process:
            F.write(pred_path, fp)
        timings["predict"] = {}
        try:
            for t in tasks:
                start = time.perf_counter()
                _predict_task(t, todo[t.name], predictor, cfg, opts, budgets[t.name], mode_of(t), state, pred_path,
                              {"fingerprint": F.short(fp)})
                timings["predict"][t.name] = {"rows": len(todo[t.name]), "seconds": time.perf_counter() - start}
        finally:
            predictor.backend.close()
        model_info.update(predictor.backend.describe())  # endpoint model, server model ids, no secrets
    elif any(todo.values()) or will_train or _orders_pending(cfg, tasks, eval_rows):
        model, tokenizer, model_info = _prepare_model(cfg, state, timings, device)
        if cfg.finetune == "lora":
            state.wait_for_everyone()
            fp["adapter_hash"] = F.folder_hash(adapter_dir)
            if done and stored and stored.get("adapter_hash") not in (None, fp["adapter_hash"]):
                # training (resumed from a checkpoint) produced another adapter: set old predictions aside
                if state.is_main_process:
                    os.replace(pred_path, pred_path.replace(".jsonl", f".stale-{int(time.time())}.jsonl"))
                done = {}
                todo = rows_to_do()
        model.to(device)
        model.eval()
        fmt = resolve_format(tokenizer, cfg.prompt_format, cfg.system_instruction)
        template = getattr(tokenizer, "chat_template", None) if fmt.kind == "chat" else None
        model_info.update(prompt_format=fmt.kind, system_instruction=fmt.system, chat_template=template,
                          chat_template_sha256=F.sha256_text(template) if isinstance(template, str) else None,
                          generation_config=generation_settings(gen_kwargs), device=str(device))
        budgets, budget_info = _derive_budgets(cfg, tasks, tokenizer, fmt, table)
        predictor = Predictor(model, tokenizer, fmt, device, cfg.max_length, cfg.likelihood_norm,
                              gen_kwargs=gen_kwargs, rating_strings=_rating_strings(cfg, tasks))
        fp.update(model_info={k: v for k, v in model_info.items() if k != "training"}, budgets=budget_info)
        if state.is_main_process:
            F.write(pred_path, fp)
        extra = {"fingerprint": F.short(fp)}
        timings["predict"] = {}
        for t in tasks:
            start = time.perf_counter()
            used = _predict_task(t, todo[t.name], predictor, cfg, opts, budgets[t.name], mode_of(t), state,
                                 pred_path, extra)
            timings["predict"][t.name] = {"rows": len(todo[t.name]), "seconds": time.perf_counter() - start,
                                          "batch_size": used}
    else:
        model_info = {**((stored or {}).get("model_info") or {"base_model": cfg.model, "adapter": None}),
                      "note": "model not loaded: every prediction was already in predictions.jsonl"}
    if cfg.candidate_orders:  # the same rows under permuted candidate orders
        from .interp import score_candidate_orders

        score_candidate_orders(cfg, tasks, eval_rows, opts, budgets, baseline_name, predictor, state)
    if not state.is_main_process:
        return None
    if cfg.predict_only:
        print(f"predictions written to {pred_path} (--predict-only: not scored)", flush=True)
        return None
    run_info = {"started": started, "fingerprint": fp, "budgets": budget_info, "original": original,
                "opts": opts, "tasks_skipped": skipped_tasks}
    return _write_results(cfg, tasks, eval_rows, fingerprints, model_info, timings, pred_path, t0, run_info)


def _write_results(cfg: EvalConfig, tasks: list[Task], eval_rows: dict[str, list[dict[str, Any]]],
                   fingerprints: dict[str, str], model_info: dict[str, Any], timings: dict[str, Any],
                   pred_path: str, t0: float, run_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Score the stored raw predictions under this run's scoring options and write timestamped results
    (``results_<time>.json/.md/.png``, ``samples_<time>.jsonl``); ``results.json`` & co. point at the newest."""
    from . import report
    from .errors import EvalError
    from .metrics import RANDOM_NDCG_NOTE
    from .scoring import rescore

    run_info = dict(run_info or {})
    opts = run_info.get("opts") or ScoringOptions(fuzzy_threshold=cfg.fuzzy_threshold, bleu_tokenize=cfg.bleu_tokenize,
                                                  rouge_stemmer=cfg.rouge_stemmer)
    original = run_info.get("original") or {}
    records = report.load_predictions(pred_path)
    cells = []
    samples: list[dict[str, Any]] = []
    for t in tasks:
        by_source: dict[str, list[dict[str, Any]]] = {}
        for row in eval_rows[t.name]:
            rec = records.get(row["id"])
            if rec is None:
                raise EvalError(f"{pred_path}: no prediction for {row['id']}; rerun with --resume to complete it")
            rec = rescore(t, row, rec, opts)
            samples.append(rec)
            by_source.setdefault(row["source"], []).append(rec)
        for source in sorted(by_source):
            recs = by_source[source]
            cell = aggregate_cell(t, recs)
            cut = [bool(r.get("cut_off")) for r in recs if r.get("mode") == "generate"]
            cells.append({"task": t.name, "abbr": t.abbr, "source": source, "mode": recs[0]["mode"], **cell,
                          "n_original": (original.get(t.name) or {}).get(source, len(recs)), "n_effective": len(recs),
                          "cut_off_share": (sum(cut) / len(cut)) if cut else None})
    timings["total"] = time.perf_counter() - t0
    versions = package_versions()
    results: dict[str, Any] = {
        "schema_version": 1,
        "itdr_eval_version": versions.get("itdr-eval"),
        "git_hash": _git_hash(),
        "date": {"started": run_info.get("started"), "finished": _now()},
        "config": config_to_dict(cfg),
        "model": model_info,
        "dataset": _dataset_info(cfg, fingerprints, (run_info.get("fingerprint") or {}).get("dataset_content"),
                                 original),
        "versions": versions,
        "predict_mode": cfg.predict_mode,
        "prediction_fingerprint": run_info.get("fingerprint"),
        "generation_budgets": run_info.get("budgets"),
        "tasks_skipped": run_info.get("tasks_skipped") or [],
        "notes": {
            "bleu": f"sacrebleu corpus BLEU-1/BLEU-2 (cumulative, no smoothing) / 100, tokenize={cfg.bleu_tokenize!r}",
            "rouge": f"rouge_score F1 (rouge1, rouge2, rougeL), mean over examples, use_stemmer={cfg.rouge_stemmer}",
            "misses": "unparseable / hallucinated / duplicate answers are scored as misses and stay in every "
                      "denominator; RP miss = worst in-scale error; numeric attribute miss = spread of the "
                      "cell's references (>= 1)",
            "clamping": "RP predictions are clamped to the rating scale; numeric attribute predictions are "
                        "clamped to the range of the cell's references before their error is taken, so a "
                        "wrong answer never scores worse than a miss",
            "random_ndcg": RANDOM_NDCG_NOTE,
            "rescoring": "parsing and scores are re-applied from the stored raw outputs with this run's "
                         f"scoring options (fuzzy_threshold={cfg.fuzzy_threshold}, bleu_tokenize={cfg.bleu_tokenize!r}, "
                         f"rouge_stemmer={cfg.rouge_stemmer})",
            "stderr": "standard error over a cell's examples: sample sd / sqrt(n) for means, delta method for RMSE, "
                      "none for corpus BLEU",
            "tie_break": "likelihood ties keep the prompt's candidate order",
        },
        "cells": cells,
        "summary": report.summarise(cells, cfg.summary),
        "timings": timings,
    }
    from .interp import add_interpretability
    from .interp import render_markdown as interp_markdown

    add_interpretability(cfg, tasks, eval_rows, records, results)  # baselines, intervals, orders, validity
    other = report.load_results(cfg.compare) if cfg.compare else None
    other_name = os.path.basename(os.path.normpath(cfg.compare)) if cfg.compare else ""
    report.write_run_files(cfg.output, results, samples, other, other_name, chart=cfg.chart,
                           appendix=interp_markdown(report._clean(results)))
    return results
