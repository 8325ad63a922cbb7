"""Builders for the itdr-eval test fixtures (imported by conftest.py and the tests)."""

from __future__ import annotations

import os

from itdr_eval.tasks import TASKS

CONFIGS = tuple(TASKS)  # checked against the builder's subtasks by tests/eval/test_tasks_match.py
ABBR = {name: task.abbr for name, task in TASKS.items()}
TITLES = [f"Movie {w}" for w in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
                                 "India", "Juliet", "Kilo", "Lima")]
INSTRUCTION = {
    "rating_prediction": "Predict the rating the user gives the target item.",
    "top_k_recommendation": "Rank all candidates by how likely the user interacts with them next.",
    "cross_domain_recommendation": "Rank the target-domain candidates for the user.",
    "next_item_recommendation": "Pick the candidate the user interacts with next.",
    "user_attribute_prediction": "Infer the user's attributes.",
    "interest_recognition": "Summarise the user's interests.",
    "target_user_identification": "Describe the users this item suits.",
}


def _row(config: str, source: str, split: str, i: int) -> dict:
    abbr = ABBR[config]
    rot = TITLES[i % 12:] + TITLES[: i % 12]
    row: dict = {"id": f"{abbr}-{source}-{split}{i:014d}", "task": config, "source": source,
                 "instruction": INSTRUCTION[config], "user_id": f"u{i}", "item_id": f"i{i}",
                 "eval_subset": split == "test" and i % 3 != 2}
    if config == "rating_prediction":
        lo, hi = (0.5, 5.0) if source == "movielens_32m" else (1.0, 10.0)
        rating = [4.5, 3.0, 5.0, 2.0][i % 4] if lo == 0.5 else float([8, 6, 9, 3][i % 4])
        row.update(input=f"History: {rot[0]} (4), {rot[1]} (3). Target: {rot[2]}", output=f"{rating:g}",
                   rating=rating, rating_min=lo, rating_max=hi)
    elif config in ("top_k_recommendation", "cross_domain_recommendation"):
        cands = rot[:10]
        pos = [cands[j] for j in (3, 0, 7, 5, 9)]
        ranked = pos + [c for c in cands if c not in pos]
        row.update(input="History: Movie Lima, Movie Kilo.\nCandidates:\n" + "\n".join(f"{j+1}. {c}" for j, c in enumerate(cands)),
                   output="\n".join(f"{j+1}. {c}" for j, c in enumerate(ranked)),
                   candidates=cands, candidate_ids=[f"c{j}" for j in range(10)], positives=pos)
    elif config == "next_item_recommendation":
        cands = rot[:5]
        row.update(input="History: Movie Lima:Drama.\nCandidates: " + ", ".join(cands), output=cands[2],
                   candidates=cands, candidate_ids=[f"c{j}" for j in range(5)], positives=[cands[2]])
    elif config == "user_attribute_prediction":
        attrs = [{"name": "gender", "value": "MF"[i % 2], "kind": "categorical"},
                 {"name": "age", "value": str(20 + 5 * (i % 4)), "kind": "numeric"}]
        row.update(input=f"Liked: {rot[0]} (1999): Drama|Comedy", item_id="",
                   output=",".join(f"{a['name']}:{a['value']}" for a in attrs), attributes=attrs)
    else:
        row.update(input=f"Liked: {rot[0]}. Review: great fun.", output=f"The user enjoys light comedies like {rot[0]}.",
                   reference_provenance="derived:fixture", item_id="" if config == "interest_recognition" else f"i{i}")
        if config == "target_user_identification":
            row["user_id"] = ""
    user = (row["instruction"] + "\n\n" + row["input"]) if row["instruction"] else row["input"]
    row["messages"] = [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]
    return row


SOURCES = {
    "rating_prediction": ("movielens_32m", "bookcrossing"),
    "top_k_recommendation": ("movielens_32m", "amazon_2023"),
    "cross_domain_recommendation": ("amazon_2023",),
    "next_item_recommendation": ("movielens_32m",),
    "user_attribute_prediction": ("movielens_1m",),
    "interest_recognition": ("steam",),
    "target_user_identification": ("steam",),
}


def make_rows(config: str, split: str) -> list[dict]:
    n = {"train": 2, "validation": 1, "test": 3}[split]
    return [_row(config, src, split, i) for src in SOURCES[config] for i in range(n)]


def write_hub_layout(root: str) -> str:
    """Write the fixture as a Hub-layout folder (Parquet per config/split + README configs)."""
    from datasets import Dataset

    yaml = ["---", "configs:"]
    for config in CONFIGS:
        yaml += [f"- config_name: {config}", "  data_files:"]
        for split in ("train", "validation", "test"):
            os.makedirs(os.path.join(root, config), exist_ok=True)
            Dataset.from_list(make_rows(config, split)).to_parquet(
                os.path.join(root, config, f"{split}-00000-of-00001.parquet"))
            yaml += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    yaml += ["---", "", "# ITDR test fixture", ""]
    with open(os.path.join(root, "README.md"), "w") as fh:
        fh.write("\n".join(yaml))
    return root


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_tokenizer(texts: list[str], chat: bool = True):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    if chat:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def make_tiny_model(path: str, chat: bool = True) -> str:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    texts = [r["messages"][0]["content"] + "\n" + r["output"] for c in CONFIGS for s in ("train", "test") for r in make_rows(c, s)]
    tok = make_tokenizer(texts, chat)
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      bos_token_id=None, initializer_range=0.2)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
