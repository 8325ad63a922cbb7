"""The local transformers writer on a tiny randomly initialised Llama saved to tmp_path (no network)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from itdr_hf.references import ReferenceConfig, write_references
from itdr_hf.references.backends import make_backend

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
WORDS = ["viewers", "who", "enjoy", "quiet", "slow", "dramas", "with", "a", "dark", "mood", "and", "a", "great", "cast", "will", "like", "this", "film", "because", "its", "story", "is", "moving", "thoughtful", "patient", "and", "beautifully", "shot", "for", "fans", "of", "mystery"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("models") / "tiny-llama"
    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator([" ".join(WORDS)], trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "</s>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", pad_token="<pad>", eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=1024,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    LlamaForCausalLM(config).save_pretrained(path)
    return str(path)


def local_config(model: str, tmp_path, **overrides) -> ReferenceConfig:
    options = {"writer": "transformers", "model": model, "cache": str(tmp_path / "refs.sqlite3"), "device": "cpu",
               "max_tokens": 24, "min_words": 1, "language": "any", "max_echo_share": 1.0}
    return ReferenceConfig(**{**options, **overrides})


def test_greedy_generation_is_deterministic(tiny_model, tmp_path):
    backend = make_backend(local_config(tiny_model, tmp_path))
    messages = [{"role": "user", "content": "Who is this film for?"}]
    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 24, "seed": None}
    first, second = backend.complete(messages, params), backend.complete(messages, params)
    assert first == second and first.text.strip()
    assert set(first.text.split()) <= set(WORDS)
    assert first.truncated == (len(first.text.split()) >= 24)
    sampled = [backend.complete(messages, {**params, "temperature": 0.9}) for _ in range(2)]
    assert sampled[0] == sampled[1], "a sampled retry is seeded from its prompt and parameters"


def test_writer_records_local_provenance_and_caches(tiny_model, tmp_path, make_cells):
    config = local_config(tiny_model, tmp_path, max_tokens=12, on_failure="keep-derived")
    out, summary = write_references(make_cells(2), config)
    rows = [r for rows in out[0].rows.values() for r in rows]
    written = [r for r in rows if r["reference_provenance"] == "llm:transformers:tiny-llama"]
    assert len(written) == summary.written and summary.written + summary.kept_derived == 2 and summary.written >= 1
    assert all(r["messages"][-1]["content"] == r["output"] for r in written)
    _, again = write_references(make_cells(2), config)
    assert again.cached == summary.written


def test_missing_model_is_a_clear_error(tmp_path, make_cells):
    from itdr_hf.references.backends import BackendError

    config = local_config(str(tmp_path / "no-such-model"), tmp_path)
    with pytest.raises(BackendError, match="cannot load the reference model"):
        write_references(make_cells(1), config)
