"""Helpers shared by the golden-file generators: compact JSON, seeded random weights, tiny model configs."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from typing import Callable, Dict, List, Sequence

import torch

from llama_ref import CausalLM

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_ROOT = os.path.join(REPO_ROOT, "test", "fixtures", "golden")
SIGNIFICANT_DIGITS = 12


def rounded(value: float) -> float:
    # 12 significant digits: far below any float32 tolerance, and keeps the JSON files small.
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _to_json(value: object, indent: int) -> str:
    pad = " " * indent
    inner = " " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(key)}: {_to_json(item, indent + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if all(not isinstance(item, (dict, list, tuple)) for item in value):
            # Lists of scalars stay on one line: the files are mostly number arrays.
            return "[" + ", ".join(_to_json(item, indent + 1) for item in value) + "]"
        return "[\n" + ",\n".join(inner + _to_json(item, indent + 1) for item in value) + "\n" + pad + "]"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"write_json: non-finite number {value}")
        return json.dumps(rounded(value))
    return json.dumps(value, ensure_ascii=False)


def recreate_folder(folder: str) -> None:
    """An empty `folder`: what a previous run wrote there is removed, so no stale file survives."""
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)


def write_json(path: str, value: object) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(_to_json(value, 0) + "\n")


def randomize_weights(model: CausalLM, seed: int) -> None:
    """Seeded, deterministic weights with unit-scale activations, so every part of the model matters:
    Linear weights N(0, 1/fan_in), biases N(0, 0.1^2), embeddings N(0, 0.25^2), norm weights 1 + N(0, 0.1^2)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in sorted(model.named_parameters()):
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float64)
            if name.endswith("embed_tokens.weight"):
                value = 0.25 * noise
            elif "norm" in name:
                value = 1.0 + 0.1 * noise
            elif name.endswith(".bias"):
                value = 0.1 * noise
            else:
                value = noise / math.sqrt(parameter.shape[1])
            # Round through float32 so the float64 reference sees exactly the stored checkpoint values.
            parameter.copy_(value.to(torch.float32).to(parameter.dtype))


def right_padded_batch(
    lengths: Sequence[int], prompt_lengths: Sequence[int], steps: int, vocab_size: int, seed: int, pad_id: int = 0
) -> Dict[str, List[List[int]]]:
    """Random token rows, right-padded to `steps`; labels copy the ids except prompt and padding (-100).
    Ids are drawn from [3, vocab) so they never collide with the usual special ids 0-2."""
    generator = torch.Generator().manual_seed(seed)
    input_ids, attention_mask, labels = [], [], []
    for length, prompt_length in zip(lengths, prompt_lengths):
        tokens = torch.randint(3, vocab_size, (length,), generator=generator).tolist()
        padding = steps - length
        input_ids.append(tokens + [pad_id] * padding)
        attention_mask.append([1] * length + [0] * padding)
        labels.append([-100] * prompt_length + tokens[prompt_length:] + [-100] * padding)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def tensor_checksums(tensors: Dict[str, torch.Tensor]) -> Dict[str, Dict[str, float]]:
    """Per-tensor sum and sum of squares (float64): cheap to compare, and they locate a wrong tensor."""
    return {
        name: {
            "sum": rounded(float(tensor.double().sum())),
            "sum_sq": rounded(float(tensor.double().pow(2).sum())),
        }
        for name, tensor in sorted(tensors.items())
    }


def run_cases(script: str, description: str, cases: Sequence[str], make_case: Callable[[str], None]) -> None:
    """The command line every golden script shares: make the cases named (default: all), refuse unknown ones."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", default=list(cases), help=f"default: {list(cases)}")
    for case in parser.parse_args().cases:
        if case not in cases:
            raise SystemExit(f"{script}: unknown case {case!r}; known: {list(cases)}")
        make_case(case)


def write_recipe_expected(folder: str, case: str, optimizer: Dict[str, object], runs: List[Dict[str, object]]) -> None:
    """expected.json of a recipe golden folder: where its model and adapter are, the optimizer, every run."""
    write_json(
        os.path.join(folder, "expected.json"),
        {
            "case": case,
            "base_model": f"../{case}",
            "adapter": f"../train-{case}/adapter",
            "optimizer": optimizer,
            "reference_dtype": "float64 computed from the float32 weights",
            "runs": runs,
        },
    )
