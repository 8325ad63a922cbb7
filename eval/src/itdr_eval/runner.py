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
import time
from typing import Any

from .config import EvalConfig, config_to_dict, validate
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


def _load_eval_rows(cfg: EvalConfig, tasks: list[Task]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    from .data import load_split, select_rows

    rows, fps = {}, {}
    for t in tasks:
        ds = load_split(cfg.dataset, t.name, "test", cfg.revision)
        fps[t.name] = getattr(ds, "_fingerprint", "")
        rows[t.name] = select_rows(ds, cfg.subset, cfg.limit)
    return rows, fps


def _load_train_rows(cfg: EvalConfig) -> list[dict[str, Any]]:
    from .data import load_split, sample_train

    path = cfg.train_dataset or cfg.dataset
    rows: list[dict[str, Any]] = []
    for i, t in enumerate(parse_task_list(cfg.train_tasks or cfg.tasks)):
        ds = load_split(path, t.name, "train", cfg.revision)
        rows += sample_train(ds, cfg.train_fraction, cfg.max_train_samples, cfg.seed + i).to_list()
    return rows


def _prepare_model(cfg: EvalConfig, state: Any, timings: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    from .modeling import is_adapter, load_model, resolve_dtype
    from .prompts import resolve_format

    dtype = resolve_dtype(cfg.precision)
    info: dict[str, Any] = {"dtype": str(dtype).replace("torch.", "")}
    adapter_dir = os.path.join(cfg.output, "adapter")
    if cfg.finetune == "lora":
        if is_adapter(cfg.model):
            raise ValueError(f"{cfg.model} is a LoRA adapter: score it with --finetune none")
        if cfg.resume and is_adapter(adapter_dir):
            loaded = load_model(adapter_dir, dtype=dtype, attn_implementation=cfg.attn_implementation,
                                device=state.device)
            info.update(base_model=loaded.base_model, adapter=adapter_dir, training="skipped (adapter exists, --resume)")
            return loaded.model, loaded.tokenizer, info
        from .train import train_lora

        loaded = load_model(cfg.model, dtype=dtype, attn_implementation=cfg.attn_implementation,
                            device=state.device)
        fmt = resolve_format(loaded.tokenizer, cfg.prompt_format)
        start = time.perf_counter()
        rows = _load_train_rows(cfg)
        timings["load_train_data"] = time.perf_counter() - start
        model, train_info = train_lora(cfg, loaded.model, loaded.tokenizer, fmt, rows, cfg.output)
        timings["train"] = train_info["seconds"]
        info.update(base_model=cfg.model, adapter=adapter_dir, training=train_info)
        return model, loaded.tokenizer, info
    loaded = load_model(cfg.model, dtype=dtype, attn_implementation=cfg.attn_implementation, device=state.device)
    info.update(base_model=loaded.base_model, adapter=loaded.adapter)
    return loaded.model, loaded.tokenizer, info


def _predict_task(task: Task, rows: list[dict[str, Any]], predictor: Any, cfg: EvalConfig, opts: ScoringOptions,
                  max_new_tokens: int, mode: str, state: Any, pred_path: str) -> None:
    """Predict this rank's shard of ``rows``; one process appends per batch, several gather to rank 0."""
    from accelerate.utils import gather_object

    from . import report
    from .predict import predict_rows

    single = state.num_processes == 1
    mine: list[dict[str, Any]] = []

    def sink(records: list[dict[str, Any]]) -> None:
        if single:
            report.append_predictions(pred_path, records)  # written as we go: a crash loses one batch
        else:
            mine.extend(records)

    predict_rows(task, rows[state.process_index::state.num_processes], predictor, mode=mode,
                 batch_size=cfg.batch_size, max_new_tokens=max_new_tokens, opts=opts, on_records=sink,
                 progress=state.is_local_main_process)
    if not single:
        gathered = gather_object(mine)
        if state.is_main_process:
            report.append_predictions(pred_path, gathered)
        state.wait_for_everyone()


def _dataset_info(cfg: EvalConfig, fingerprints: dict[str, str]) -> dict[str, Any]:
    info: dict[str, Any] = {"path": cfg.dataset, "revision": cfg.revision, "train_dataset": cfg.train_dataset,
                            "local": os.path.isdir(cfg.dataset), "fingerprints": fingerprints}
    if not info["local"] and os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false"):
        try:
            from huggingface_hub import HfApi

            info["resolved_sha"] = HfApi().dataset_info(cfg.dataset, revision=cfg.revision).sha
        except Exception as exc:  # noqa: BLE001 - provenance is best effort
            info["resolved_sha"] = f"unavailable: {type(exc).__name__}"
    return info


def run(cfg: EvalConfig) -> dict[str, Any] | None:
    """Run one evaluation; returns the results dict on rank 0 (``None`` on other ranks)."""
    from accelerate import PartialState

    from . import report
    from .modeling import is_adapter
    from .predict import Predictor
    from .prompts import resolve_format

    validate(cfg)
    if cfg.finetune == "auto":
        # A base model is tuned with the paper's recipe; a saved adapter is scored as it is.
        # A served model (--backend openai) is scored as it is, too.
        cfg = dataclasses.replace(cfg, finetune="none" if cfg.backend != "local" or is_adapter(cfg.model) else "lora")
    import torch

    # cpu=True lets accelerate see a multi-process CPU launch (torchrun/gloo) as distributed
    state = PartialState(cpu=not torch.cuda.is_available())
    tasks = parse_task_list(cfg.tasks)
    budgets = max_new_tokens_table(cfg.max_new_tokens)
    opts = ScoringOptions(fuzzy_threshold=cfg.fuzzy_threshold, bleu_tokenize=cfg.bleu_tokenize, rouge_stemmer=cfg.rouge_stemmer)
    os.makedirs(cfg.output, exist_ok=True)
    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    eval_rows, fingerprints = _load_eval_rows(cfg, tasks)
    timings["load_eval_data"] = time.perf_counter() - t0

    pred_path = os.path.join(cfg.output, "predictions.jsonl")
    done = report.load_predictions(pred_path)

    def mode_of(task: Task) -> str:
        return "likelihood" if cfg.predict_mode == "likelihood" and task.closed_set else "generate"

    def rows_to_do() -> dict[str, list[dict[str, Any]]]:
        return {t.name: [r for r in eval_rows[t.name] if done.get(r["id"], {}).get("mode") != mode_of(t)] for t in tasks}

    todo = rows_to_do()
    will_train = cfg.finetune == "lora" and not (cfg.resume and is_adapter(os.path.join(cfg.output, "adapter")))
    model_info: dict[str, Any] = {}
    if cfg.backend != "local":  # --- issue 17: a served model; nothing to load or train -----------
        from .backends.bridge import served_predictor

        predictor, model_info = served_predictor(cfg)
        try:
            timings["predict"] = {}
            for t in tasks:
                start = time.perf_counter()
                _predict_task(t, todo[t.name], predictor, cfg, opts, budgets[t.name], mode_of(t), state, pred_path)
                timings["predict"][t.name] = {"rows": len(todo[t.name]), "seconds": time.perf_counter() - start}
        finally:
            predictor.backend.close()
        model_info.update(predictor.backend.describe())  # endpoint model, server model ids, no secrets
    elif any(todo.values()) or will_train:  # --- end issue 17 ----------------------------------------
        model, tokenizer, model_info = _prepare_model(cfg, state, timings)
        if isinstance(model_info.get("training"), dict) and done:
            # a freshly trained adapter makes earlier predictions stale: keep them aside, redo all
            state.wait_for_everyone()
            if state.is_main_process:
                os.replace(pred_path, pred_path.replace(".jsonl", f".stale-{int(time.time())}.jsonl"))
            done = {}
            todo = rows_to_do()
        model.to(state.device)
        model.eval()
        fmt = resolve_format(tokenizer, cfg.prompt_format)
        model_info["prompt_format"] = fmt.kind
        predictor = Predictor(model, tokenizer, fmt, state.device, cfg.max_length, cfg.likelihood_norm)
        timings["predict"] = {}
        for t in tasks:
            start = time.perf_counter()
            _predict_task(t, todo[t.name], predictor, cfg, opts, budgets[t.name], mode_of(t), state, pred_path)
            timings["predict"][t.name] = {"rows": len(todo[t.name]), "seconds": time.perf_counter() - start}
    else:
        model_info = {"base_model": cfg.model, "adapter": None, "note": "model not loaded: every prediction was already in predictions.jsonl"}
    if not state.is_main_process:
        return None
    return _write_results(cfg, tasks, eval_rows, fingerprints, model_info, timings, pred_path, t0)


def _write_results(cfg: EvalConfig, tasks: list[Task], eval_rows: dict[str, list[dict[str, Any]]],
                   fingerprints: dict[str, str], model_info: dict[str, Any], timings: dict[str, Any],
                   pred_path: str, t0: float) -> dict[str, Any]:
    from . import report

    records = report.load_predictions(pred_path)
    cells = []
    for t in tasks:
        by_source: dict[str, list[dict[str, Any]]] = {}
        for row in eval_rows[t.name]:
            rec = records.get(row["id"])
            if rec is None:
                raise RuntimeError(f"no prediction for {row['id']}")
            by_source.setdefault(row["source"], []).append(rec)
        for source in sorted(by_source):
            cell = aggregate_cell(t, by_source[source])
            cells.append({"task": t.name, "abbr": t.abbr, "source": source,
                          "mode": by_source[source][0]["mode"], **cell})
    timings["total"] = time.perf_counter() - t0
    results: dict[str, Any] = {
        "config": config_to_dict(cfg),
        "model": model_info,
        "dataset": _dataset_info(cfg, fingerprints),
        "versions": package_versions(),
        "predict_mode": cfg.predict_mode,
        "notes": {
            "bleu": f"sacrebleu corpus BLEU-1/BLEU-2 (cumulative, no smoothing) / 100, tokenize={cfg.bleu_tokenize!r}",
            "rouge": f"rouge_score F1 (rouge1, rouge2, rougeL), mean over examples, use_stemmer={cfg.rouge_stemmer}",
            "misses": "unparseable / hallucinated / duplicate answers are scored as misses and stay in every "
                      "denominator; RP miss = worst in-scale error; numeric attribute miss = spread of the "
                      "cell's references (>= 1)",
            "tie_break": "likelihood ties keep the prompt's candidate order",
        },
        "cells": cells,
        "summary": report.summarise(cells),
        "timings": timings,
    }
    report.write_json(os.path.join(cfg.output, "results.json"), results)
    other = report.load_results(cfg.compare) if cfg.compare else None
    other_name = os.path.basename(os.path.normpath(cfg.compare)) if cfg.compare else ""
    with open(os.path.join(cfg.output, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(report.render_markdown(report._clean(results), other, other_name))
    if cfg.chart:
        report.write_chart(os.path.join(cfg.output, "results.png"), results, other, other_name or "other")
    return results
