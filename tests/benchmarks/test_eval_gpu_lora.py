"""The GPU benchmark's MFU numerator, checked against torch's own FLOP counter on a small model:
torch counts 4 x (matmul weights) per token for a forward and an activations-only backward plus
the full-square attention; the benchmark's count uses N (those weights plus norms and biases, <1%
more) and only the causal half of the attention, up to the diagonal."""

import importlib.util
import os

import pytest
import torch

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "eval_gpu_lora.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("eval_gpu_lora", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_useful_flops_match_torchs_flop_counter(bench):
    from torch.utils.flop_counter import FlopCounterMode

    cfg = bench.model_config(tiny=True)
    model = bench.build_model(cfg, torch.device("cpu"), torch.float32, "eager")  # attention as counted matmuls
    for p in model.parameters():
        p.requires_grad_(False)  # frozen base weights, as under LoRA: no weight gradients
    model.enable_input_require_grads()
    n_base = bench.base_params(model)
    embedding = model.get_input_embeddings().weight
    n_matmul = sum(p.numel() for p in model.parameters() if p.dim() == 2 and p is not embedding)
    assert 0 < n_base - n_matmul < 0.01 * n_matmul  # N also holds norm weights and biases: no matmul FLOPs
    s = 96
    ids = torch.randint(10, cfg.vocab_size, (1, s))
    counter = FlopCounterMode(display=False)
    with counter:
        model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    dense_attention = 3 * 4 * cfg.num_hidden_layers * cfg.num_attention_heads * head_dim * s * s  # eager: full square
    assert counter.get_total_flops() == 4 * n_matmul * s + dense_attention

    ours = bench.useful_flops([s], n_base, cfg, checkpointing=False)
    causal = ours - 4 * n_base * s
    assert causal == 3 * 2 * cfg.num_hidden_layers * cfg.num_attention_heads * head_dim * s * (s + 1)
    assert causal == pytest.approx(dense_attention / 2, rel=1 / s + 1e-9)  # the masked half is not work
    with_checkpointing = bench.useful_flops([s], n_base, cfg, checkpointing=True)
    assert with_checkpointing == 6 * n_base * s + causal * 4 // 3  # one more forward


def test_counting_collator_keeps_real_lengths_and_tensor_size(bench):
    from itdr_eval.train import SFTCollator, packed_collator

    examples = [{"input_ids": [5] * n, "labels": [-100] * (n - 1) + [5]} for n in (3, 7, 4)]
    padded, packed = bench.CountingCollator(SFTCollator(0)), bench.CountingCollator(packed_collator())
    padded(examples)
    packed(examples)
    assert padded.calls == [([3, 7, 4], 21)] and packed.calls == [([3, 7, 4], 14)]
