"""The Hub layout: ``<config>/<split>-00000-of-00001.parquet`` and a README whose YAML declares it.

``load_dataset(<folder>, <config>)`` and ``load_dataset(<org>/itdr, <config>)`` read exactly
this; no loading script is involved. The card's body is written by :mod:`itdr_hf.card`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from .splits import SPLITS


def drop_empty_splits(info: datasets.DatasetInfo) -> list[str]:
    """Remove splits without rows from ``info``: ``load_dataset`` cannot read a declared empty split.

    Only tiny builds (a demo, a very small cap) have one; the card then lists the splits that exist.
    """
    kept = [name for name in SPLITS if name in info.splits and info.splits[name].num_examples > 0]
    splits = datasets.SplitDict(dataset_name=info.splits.dataset_name)
    for name in kept:
        splits.add(info.splits[name])
    info.splits = splits
    return kept


def place_parquet(prepared: Path, config_name: str, dest: Path, splits: tuple[str, ...] | list[str] = SPLITS) -> dict[str, list[Path]]:
    """Move the builder's Parquet shards of one config into ``dest/<config>/`` under Hub names."""
    placed: dict[str, list[Path]] = {}
    (dest / config_name).mkdir(parents=True, exist_ok=True)
    for split in splits:
        shards = sorted(prepared.glob(f"*-{split}.parquet")) + sorted(prepared.glob(f"*-{split}-*-of-*.parquet"))
        if not shards:
            raise RuntimeError(f"the builder wrote no {split} file for {config_name} in {prepared}")
        placed[split] = []
        for i, shard in enumerate(shards):
            target = dest / config_name / f"{split}-{i:05d}-of-{len(shards):05d}.parquet"
            shutil.move(str(shard), target)
            placed[split].append(target)
    return placed


def card_data(infos: dict[str, datasets.DatasetInfo], default_config: str, **metadata) -> DatasetCardData:
    data = DatasetCardData(**metadata)
    data["configs"] = [
        {
            "config_name": name,
            "data_files": [{"split": split, "path": f"{name}/{split}-*"} for split in SPLITS if split in info.splits],
            **({"default": True} if name == default_config else {}),
        }
        for name, info in infos.items()
    ]
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data
