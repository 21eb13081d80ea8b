"""Golden PoFT trajectories -> test/fixtures/golden/train-poft-<case>/ (run make_golden_inference.py and
make_golden_training.py first: the base model is read from test/fixtures/golden/<case>/, its batch from
<case>/inputs.json, and the starting LoRA adapter from test/fixtures/golden/train-<case>/adapter/).

Each folder holds:
  inputs.json                        the batch of <case>/inputs.json
  expected.json                      settings and per-step figures of every run
  final-<run>.safetensors            trainable tensors after the last step (F32)

Runs (same batch every step, AdamW, no clipping, no schedule, no dropout): LoRA from the given adapter and
full fine-tuning, each with the released code's beta = 1, gamma = 0 and with beta = 2, gamma = 0.5. A row's
score is its mean log-probability over its trained tokens (HF shift), s_theta for the trained model and s_ref
for the frozen reference (LoRA switched off, or a frozen copy of the initial weights):
  loss = mean_b -logsigmoid(beta (s_theta - s_ref) + gamma)
as the PoFT authors' released trainer computes it (github.com/Savannah120/alignment-handbook-PoFT,
scripts/run_poft.py), with the frozen base model standing in for the aligned LLMs' precomputed scores.
scores/target, scores/reference = mean s_theta, s_ref; scores/accuracies = mean(s_theta > s_ref).

Everything is computed in float64 from the float32 stored weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict

import torch
import torch.nn.functional as F

from golden_io import GOLDEN_ROOT, recreate_folder, run_cases, write_json, write_recipe_expected
from make_golden_recipes import row_losses, token_nll
from make_golden_preference import STEPS, train_against_base
from make_golden_training import ADAMW, load_batch, recipe_run_record
from safetensors_io import read_safetensors

# A tenth of the SFT runs' rate: at 1e-2 the margin runs saturate within two steps, and AdamW's normalised
# update of their vanishing gradients magnifies float32 rounding past the tolerance.
OPTIMIZER = {**ADAMW, "lr": 1e-3}
CASES = ("llama-untied", "qwen2-tied")


@dataclass(frozen=True)
class Run:
    name: str
    method: str  # "full" | "lora"
    beta: float
    gamma: float


RUNS = [
    Run(f"{method}-{label}", method, beta, gamma)
    for method in ("lora", "full")
    for label, beta, gamma in (("released", 1.0, 0.0), ("margin", 2.0, 0.5))
]


def scores(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each row's mean log-probability over its trained tokens: (B)."""
    return -row_losses(token_nll(logits, labels), labels)


def poft_loss(target: torch.Tensor, reference: torch.Tensor, run: Run) -> Dict[str, torch.Tensor]:
    return {
        "loss": (-F.logsigmoid(run.beta * (target - reference) + run.gamma)).mean(),
        "scores/target": target.detach().mean(),
        "scores/reference": reference.mean(),
        "scores/accuracies": (target.detach() > reference).double().mean(),
    }


def train(case: str, run: Run, adapter: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor], dtype: torch.dtype):
    return train_against_base(
        case, run.method, OPTIMIZER, adapter, batch, dtype, scores, lambda target, reference: poft_loss(target, reference, run)
    )


def make_case(case: str) -> None:
    folder = os.path.join(GOLDEN_ROOT, f"train-poft-{case}")
    recreate_folder(folder)
    adapter = read_safetensors(os.path.join(GOLDEN_ROOT, f"train-{case}", "adapter", "adapter_model.safetensors"))
    batch = load_batch(case)
    write_json(os.path.join(folder, "inputs.json"), {key: value.tolist() for key, value in batch.items()})

    runs = []
    for run in RUNS:
        history, tensors = train(case, run, adapter, batch, torch.float64)
        history32, _ = train(case, run, adapter, batch, torch.float32)
        f32_diff = max(abs(a - b) for a, b in zip(history["losses"], history32["losses"]))
        params = {"beta": run.beta, "gamma": run.gamma}
        check = {"float32_loss_max_abs_diff": f32_diff}
        runs.append(recipe_run_record(folder, run.name, run.method, params, STEPS, history, tensors, check))
        print(
            f"{case} {run.name}: losses {[round(v, 5) for v in history['losses']]}, "
            f"target scores {[round(v, 4) for v in history['scores/target']]}, f32 loss diff {f32_diff:.1e}"
        )

    write_recipe_expected(folder, case, OPTIMIZER, runs)


def main() -> None:
    run_cases("make_golden_poft", __doc__, list(CASES), make_case)


if __name__ == "__main__":
    main()
