"""``--batching``: packed (padding-free) and length-grouped micro-batches train on exactly what
padded ones do. Packed loss and gradients equal padded ones on the same examples; a packed
training run gives the padded run's adapter; a model whose attention would mix packed examples
is refused before training."""

import pytest
import torch
from itdr_eval.config import EvalConfig
from itdr_eval.errors import EvalError
from itdr_eval.modeling import load_model
from itdr_eval.prompts import PromptFormat
from itdr_eval.train import (
    IGNORE_INDEX,
    SFTCollator,
    check_packing,
    init_lora,
    make_trainer,
    packed_collator,
    tokenize_example,
    train_lora,
)
from itdr_eval_testutils import make_rows


def _examples(tokenizer, n=4):
    rows = (make_rows("rating_prediction", "train")[:2] + make_rows("top_k_recommendation", "train")[:1]
            + make_rows("next_item_recommendation", "train")[:1])[:n]
    out = [tokenize_example(tokenizer, r, PromptFormat("chat"), 4096) for r in rows]
    assert len({len(e["input_ids"]) for e in out}) == len(out)  # different lengths: the padded batch pads
    return out


def _loss_and_grads(model, batch):
    model.zero_grad(set_to_none=True)
    loss = model(**batch, use_cache=False).loss
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    return float(loss.detach()), grads


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_loss_and_gradients_equal_padded(tiny_model, attn):
    loaded = load_model(tiny_model, dtype=torch.float32, attn_implementation=attn)
    model = init_lora(EvalConfig(model=tiny_model, seed=3), loaded.model)
    model.train()
    examples = _examples(loaded.tokenizer)
    padded = SFTCollator(loaded.tokenizer.pad_token_id)(examples)
    packed = packed_collator()(examples)
    # one row, no padding, positions restart per example, the same response tokens are targets
    total = sum(len(e["input_ids"]) for e in examples)
    assert packed["input_ids"].shape == (1, total) and padded["input_ids"].numel() > total
    assert packed["position_ids"][0].tolist() == [i for e in examples for i in range(len(e["input_ids"]))]
    assert int((packed["labels"] != IGNORE_INDEX).sum()) == int((padded["labels"][:, 1:] != IGNORE_INDEX).sum())

    loss_a, grads_a = _loss_and_grads(model, padded)
    loss_b, grads_b = _loss_and_grads(model, packed)
    assert loss_b == pytest.approx(loss_a, rel=1e-5)
    assert grads_a.keys() == grads_b.keys() and grads_a
    for name in grads_a:
        torch.testing.assert_close(grads_b[name], grads_a[name], rtol=1e-4, atol=1e-6, msg=name)


def test_a_packed_row_without_restarting_positions_is_not_the_same_loss(tiny_model):
    """The control: the equality above depends on the packed layout, it is not automatic."""
    loaded = load_model(tiny_model, dtype=torch.float32)
    model = loaded.model.eval()
    examples = _examples(loaded.tokenizer)
    packed = packed_collator()(examples)
    with torch.no_grad():
        right = float(model(**packed, use_cache=False).loss)
        mixed = float(model(input_ids=packed["input_ids"], labels=packed["labels"], use_cache=False).loss)
        padded = float(model(**SFTCollator(loaded.tokenizer.pad_token_id)(examples), use_cache=False).loss)
    assert right == pytest.approx(padded, rel=1e-5)
    assert abs(mixed - padded) > 1e-3


def _train(tiny_model, tokenizer_rows, out, batching):
    loaded = load_model(tiny_model, dtype=torch.float32)
    cfg = EvalConfig(model=tiny_model, seed=5, batching=batching, per_device_batch_size=4, grad_accum=1,
                     epochs=1.0, learning_rate=1e-2, logging_steps=1, save_steps=1000, precision="fp32")
    model, info = train_lora(cfg, loaded.model, loaded.tokenizer, PromptFormat("chat"), tokenizer_rows, str(out))
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}, info


def test_packed_training_gives_the_padded_adapter(tiny_model, tmp_path):
    rows = make_rows("rating_prediction", "train")[:4] + make_rows("next_item_recommendation", "train")[:4]
    padded, info_a = _train(tiny_model, rows, tmp_path / "padded", "padded")
    packed, info_b = _train(tiny_model, rows, tmp_path / "packed", "packed")
    assert info_a["global_steps"] == info_b["global_steps"] == 2
    assert info_b["train_loss"] == pytest.approx(info_a["train_loss"], rel=1e-4)
    assert padded.keys() == packed.keys() and padded
    moved = 0
    for name in padded:
        torch.testing.assert_close(packed[name], padded[name], rtol=1e-4, atol=1e-5, msg=name)
        moved += "lora_B" in name and bool(padded[name].abs().sum() > 0)  # B starts at zero: training moved it
    assert moved


def test_length_grouped_batches_hold_examples_of_similar_length(tiny_model, tmp_path):
    loaded = load_model(tiny_model, dtype=torch.float32)
    rows = [r for c in ("rating_prediction", "top_k_recommendation", "next_item_recommendation", "interest_recognition")
            for r in make_rows(c, "train")[:4]]
    examples = [tokenize_example(loaded.tokenizer, r, PromptFormat("chat"), 4096) for r in rows]
    cfg = EvalConfig(model=tiny_model, batching="length-grouped", per_device_batch_size=4, seed=1, precision="fp32")
    trainer = make_trainer(cfg, init_lora(cfg, loaded.model), examples, loaded.tokenizer.pad_token_id, str(tmp_path))

    def padding(trainer):
        batches = list(trainer.get_train_dataloader())
        assert sum(int(b["attention_mask"].sum()) for b in batches) == sum(len(e["input_ids"]) for e in examples)
        return sum(int((b["attention_mask"] == 0).sum()) for b in batches)

    plain = make_trainer(EvalConfig(model=tiny_model, per_device_batch_size=4, seed=1, precision="fp32"),
                         trainer.model, examples, loaded.tokenizer.pad_token_id, str(tmp_path / "plain"))
    assert padding(trainer) < padding(plain)


def test_packing_is_refused_when_the_attention_mixes_examples(tiny_model, monkeypatch):
    """A model that drops position ids (as an architecture with its own attention code might) would
    train across example boundaries: the check stops it before training, with a one-line error."""
    loaded = load_model(tiny_model, dtype=torch.float32)
    examples = _examples(loaded.tokenizer)
    assert check_packing(loaded.model, examples) == 0.0
    forward = loaded.model.forward

    def ignore_positions(*args, position_ids=None, **kwargs):
        return forward(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "forward", ignore_positions)
    with pytest.raises(EvalError, match="--batching padded") as err:
        check_packing(loaded.model, examples)
    assert "\n" not in str(err.value)


def test_the_cli_trains_packed_and_records_it(tiny_model, dataset_dir, tmp_path):
    import json
    import os

    from itdr_eval.cli import main

    out = str(tmp_path / "run")
    assert main(["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "rp,nir", "--finetune", "lora",
                 "--batching", "packed", "--per-device-batch-size", "4", "--grad-accum", "1", "--epochs", "1",
                 "--max-new-tokens", "rp=4,nir=8", "--output", out]) == 0
    with open(os.path.join(out, "adapter", "README.md")) as fh:
        assert '"batching": "packed"' in fh.read()
    with open(os.path.join(out, "results.json")) as fh:
        assert json.load(fh)["config"]["batching"] == "packed"


def test_a_resume_with_another_recipe_is_refused_and_the_adapter_kept(tiny_model, dataset_dir, tmp_path, capsys):
    """A --resume reuses <output>/adapter or its checkpoints: asking for another batching (or any other
    recipe option) must not label the old adapter with the new settings."""
    import json
    import os

    from itdr_eval.cli import main

    out = str(tmp_path / "run")
    base = ["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "rp", "--finetune", "lora",
            "--per-device-batch-size", "4", "--grad-accum", "1", "--epochs", "1", "--max-new-tokens", "rp=4",
            "--output", out]
    assert main(base) == 0
    with open(os.path.join(out, "training_recipe.json")) as fh:
        assert json.load(fh)["batching"] == "padded"
    with open(os.path.join(out, "adapter", "adapter_model.safetensors"), "rb") as fh:
        weights = fh.read()
    capsys.readouterr()
    assert main([*base, "--resume", "--batching", "packed", "--learning-rate", "0.001"]) == 2
    err = capsys.readouterr().err
    assert "batching='padded'" in err and "batching='packed'" in err and "learning_rate=0.0001" in err
    with open(os.path.join(out, "adapter", "adapter_model.safetensors"), "rb") as fh:
        assert fh.read() == weights
    assert main([*base, "--resume"]) == 0  # the same recipe: the folder is reused
    with open(os.path.join(out, "results.json")) as fh:
        assert json.load(fh)["config"]["batching"] == "padded"
