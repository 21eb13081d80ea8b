"""Golden trajectories of the recipes whose loss is deterministic given the batch -> test/fixtures/golden/
train-recipes-<case>/ (run make_golden_inference.py and make_golden_training.py first: the base model is read
from test/fixtures/golden/<case>/, its batch from <case>/inputs.json, and the starting LoRA adapter from
test/fixtures/golden/train-<case>/adapter/).

Each folder holds:
  inputs.json                        the batch of <case>/inputs.json, plus
                                       loss_weights   per-token data weights, aligned with labels: 1 on trained
                                                      tokens, TOOL_CALL_WEIGHT on a span standing for a tool call
                                                      (what span-weights puts there), 0 elsewhere
                                       previous_loss  per row, the loss history glow is given: the row's loss in
                                                      "the previous epoch", -1 for a row without one
  expected.json                      settings and per-step figures of every run
  final-<run>.safetensors            trainable tensors after the last step (F32)

Runs (same batch every step, AdamW, no clipping, no schedule, no dropout), LoRA from the given adapter and full
fine-tuning, with nll[b, t] = -log p(labels[b, t+1] | tokens <= t) (HF shift) and w the shifted loss weights:
  span-weights  sum(w * nll) / sum(w)                                the weighted token mean of SFT
  glow          l_b = sum_t(m * nll) / sum_t(m)  (m: trained tokens)  each row's mean loss
                g_b = previous_loss_b - l_b.detach()
                v_b = clip(alpha (1 - sigmoid(beta g_b)), min_weight, max_weight), 1 where previous_loss_b < 0
                loss = mean_b(v_b.detach() * l_b)
glow's rule is the one of the GLOW authors' released trainer (github.com/Eureka-Maggie/GLOW,
LLaMA-Factory/src/llamafactory/train/sft/trainer.py); alpha = 2 here so both clip bounds can bind.

Everything is computed in float64 from the float32 stored weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List

import torch
import torch.nn.functional as F

from golden_io import GOLDEN_ROOT, recreate_folder, run_cases, tensor_checksums, write_json, write_recipe_expected
from llama_ref import LORA_TARGETS_ALL, attach_lora, load_hf_model
from make_golden_training import ADAMW, LORA_ALPHA, LORA_RANK, load_batch, make_optimizer, trainable_tensors, write_final_tensors
from safetensors_io import read_safetensors

STEPS = 5
TOOL_CALL_WEIGHT = 2.0
GLOW_PARAMS = {"alpha": 2.0, "beta": 10.0, "min_weight": 0.5, "max_weight": 5.0}
# The history, from each row's loss at step 0: a large gain (weight clipped at min_weight), none, a loss that rose.
HISTORY_FROM_START = [lambda loss: 1.5 * loss, lambda loss: -1.0, lambda loss: loss - 0.05]
CASES = ("llama-untied", "qwen2-tied")


@dataclass(frozen=True)
class Run:
    name: str
    method: str  # "full" | "lora"
    recipe: str  # "span-weights" | "glow"
    params: Dict[str, float] = field(default_factory=dict)


RUNS = [
    Run(f"{method}-{recipe}", method, recipe, params)
    for recipe, params in (("span-weights", {"tool_call_weight": TOOL_CALL_WEIGHT}), ("glow", GLOW_PARAMS))
    for method in ("lora", "full")
]


def span_weights(labels: torch.Tensor) -> torch.Tensor:
    """1 on trained tokens, TOOL_CALL_WEIGHT on each row's 3rd to 5th trained tokens, 0 elsewhere: (B, T)."""
    weights = (labels != -100).double()
    for row in range(labels.shape[0]):
        trained = (labels[row] != -100).nonzero().flatten()
        weights[row, trained[2:5]] = TOOL_CALL_WEIGHT
    return weights


def token_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    log_probabilities = F.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
    targets = labels[:, 1:]
    return -log_probabilities.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T-1)


def row_losses(nll: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    mask = (labels[:, 1:] != -100).to(nll.dtype)  # (B, T-1)
    return (nll * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)  # (B)


def glow_weights(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    p = GLOW_PARAMS
    scaled = p["alpha"] * (1 - torch.sigmoid(p["beta"] * (previous - current.detach())))
    clipped = scaled.clamp(min=p["min_weight"], max=p["max_weight"])
    return torch.where(previous < 0, torch.ones_like(clipped), clipped).detach()


def recipe_loss(run: Run, logits: torch.Tensor, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
    nll = token_nll(logits, batch["labels"])
    if run.recipe == "span-weights":
        weights = batch["loss_weights"][:, 1:].to(nll.dtype)
        return (weights * nll).sum() / weights.sum()
    losses = row_losses(nll, batch["labels"])
    return (glow_weights(batch["previous_loss"].to(nll.dtype), losses) * losses).mean()


def train(case: str, run: Run, adapter: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor], dtype: torch.dtype):
    model = load_hf_model(os.path.join(GOLDEN_ROOT, case), dtype)
    if run.method == "lora":
        attach_lora(model, adapter, LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = make_optimizer(ADAMW, parameters)
    history: Dict[str, List[float]] = {"losses": [], "grad_norms": []}
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = recipe_loss(run, model(batch["input_ids"], batch["attention_mask"]), batch)
        loss.backward()
        grad_norm = torch.sqrt(sum(parameter.grad.double().pow(2).sum() for parameter in parameters))
        history["losses"].append(float(loss))
        history["grad_norms"].append(float(grad_norm))
        optimizer.step()
    return history, trainable_tensors(model, run.method)


def given_history(case: str, adapter: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor]) -> List[float]:
    """previous_loss per row, from the LoRA model's row losses before any step (float32-representable)."""
    model = load_hf_model(os.path.join(GOLDEN_ROOT, case), torch.float64)
    attach_lora(model, adapter, LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    with torch.no_grad():
        losses = row_losses(token_nll(model(batch["input_ids"], batch["attention_mask"]), batch["labels"]), batch["labels"])
    return [float(torch.tensor(rule(float(loss)), dtype=torch.float32)) for rule, loss in zip(HISTORY_FROM_START, losses)]


def make_case(case: str) -> None:
    folder = os.path.join(GOLDEN_ROOT, f"train-recipes-{case}")
    recreate_folder(folder)
    adapter = read_safetensors(os.path.join(GOLDEN_ROOT, f"train-{case}", "adapter", "adapter_model.safetensors"))
    batch = load_batch(case)
    batch["loss_weights"] = span_weights(batch["labels"])
    batch["previous_loss"] = torch.tensor(given_history(case, adapter, batch), dtype=torch.float64)
    write_json(
        os.path.join(folder, "inputs.json"),
        {key: value.tolist() for key, value in batch.items()},
    )

    runs = []
    for run in RUNS:
        history, tensors = train(case, run, adapter, batch, torch.float64)
        history32, _ = train(case, run, adapter, batch, torch.float32)
        file_name, stored = write_final_tensors(folder, run.name, run.method, tensors)
        f32_diff = max(abs(a - b) for a, b in zip(history["losses"], history32["losses"]))
        runs.append(
            {
                "name": run.name,
                "method": run.method,
                "recipe": run.recipe,
                "params": run.params,
                "steps": STEPS,
                **history,
                "final_tensors_file": file_name,
                "final_tensors": sorted(stored),
                "checksums": tensor_checksums(tensors),
                "float32_loss_max_abs_diff": f32_diff,
            }
        )
        print(f"{case} {run.name}: losses {[round(v, 5) for v in history['losses']]}, f32 loss diff {f32_diff:.1e}")

    write_recipe_expected(folder, case, ADAMW, runs)


def main() -> None:
    run_cases("make_golden_recipes", __doc__, list(CASES), make_case)


if __name__ == "__main__":
    main()
