"""Golden DPO trajectories -> test/fixtures/golden/train-dpo-<case>/ (run make_golden_inference.py and
make_golden_training.py first: the base model is read from test/fixtures/golden/<case>/ and the starting
LoRA adapter from test/fixtures/golden/train-<case>/adapter/).

Each folder holds:
  inputs.json                        the preference batch: 2 pairs as 4 right-padded rows, chosen then
                                     rejected, each pair sharing its prompt (labels -100 on prompt and padding)
  expected.json                      settings and per-step figures of every run
  final-<run>.safetensors            trainable tensors after the last step (F32)

Runs (same batch every step, AdamW, no clipping, no schedule, no dropout): LoRA from the given adapter and
full fine-tuning, each with the three loss types of TRL's DPOTrainer (and, on llama-untied, the sigmoid loss
with label smoothing). With pi and r the policy's and the frozen reference's sequence log-probabilities (sums
over the labelled tokens of a row, HF shift) and D = (pi_c - r_c) - (pi_r - r_r):
  sigmoid  -logsigmoid(beta D) (1 - eps) - logsigmoid(-beta D) eps
  ipo      (D - 1/(2 beta))^2
  hinge    relu(1 - beta D)
averaged over the pairs. The reference is the base model: LoRA switched off, or (full fine-tuning) a frozen
copy of the initial weights. rewards/chosen, rewards/rejected = mean beta (pi - r); rewards/margins their
difference; rewards/accuracies = mean(chosen reward > rejected reward).

Everything is computed in float64 from the float32 stored weights.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from golden_io import GOLDEN_ROOT, recreate_folder, right_padded_batch, run_cases, write_json, write_recipe_expected
from llama_ref import LORA_TARGETS_ALL, CausalLM, attach_lora, load_hf_model, set_lora_enabled
from make_golden_training import ADAMW, LORA_ALPHA, LORA_RANK, make_optimizer, recipe_run_record, trainable_tensors
from safetensors_io import read_safetensors

STEPS = 5
BETA = 0.1
# A tenth of the SFT runs' rate: IPO's squared loss makes bigger steps chaotic, and float32 would not follow.
OPTIMIZER = {**ADAMW, "lr": 1e-3}


@dataclass(frozen=True)
class Run:
    name: str
    method: str  # "full" | "lora"
    loss_type: str  # "sigmoid" | "ipo" | "hinge"
    label_smoothing: float = 0.0


LOSS_TYPES = ("sigmoid", "ipo", "hinge")
COMMON_RUNS = [Run(f"{method}-{loss}", method, loss) for method in ("lora", "full") for loss in LOSS_TYPES]
CASES = {
    "llama-untied": {"seed": 31, "runs": COMMON_RUNS + [Run("lora-sigmoid-smoothed", "lora", "sigmoid", 0.1)]},
    "qwen2-tied": {"seed": 32, "runs": COMMON_RUNS},
}


def preference_batch(case: str, seed: int) -> Dict[str, List[List[int]]]:
    """Two pairs; each pair's rows start with the same prompt and go on with different responses."""
    with open(os.path.join(GOLDEN_ROOT, case, "config.json"), "r", encoding="utf-8") as handle:
        vocab_size = json.load(handle)["vocab_size"]
    prompts = [4, 3]
    lengths = [(11, 8), (7, 12)]
    steps = max(max(pair) for pair in lengths)
    row_lengths = [n for pair in lengths for n in pair]
    rows = right_padded_batch(row_lengths, [p for p in prompts for _ in range(2)], steps, vocab_size, seed)
    for pair, prompt in enumerate(prompts):
        chosen, rejected = 2 * pair, 2 * pair + 1
        rows["input_ids"][rejected][:prompt] = rows["input_ids"][chosen][:prompt]
    return rows


def sequence_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    log_probabilities = F.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
    targets = labels[:, 1:]
    mask = targets != -100
    token = log_probabilities.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    return (token * mask).sum(dim=-1)  # (B)


def dpo_loss(policy: torch.Tensor, reference: torch.Tensor, run: Run) -> Dict[str, torch.Tensor]:
    ratios = (policy - reference).view(-1, 2)  # (P, 2): chosen, rejected
    chosen, rejected = ratios[:, 0], ratios[:, 1]
    delta = chosen - rejected
    beta = BETA
    if run.loss_type == "sigmoid":
        eps = run.label_smoothing
        per_pair = -F.logsigmoid(beta * delta) * (1 - eps) - F.logsigmoid(-beta * delta) * eps
    elif run.loss_type == "ipo":
        per_pair = (delta - 1 / (2 * beta)) ** 2
    else:
        per_pair = torch.relu(1 - beta * delta)
    chosen_rewards, rejected_rewards = beta * chosen.detach(), beta * rejected.detach()
    return {
        "loss": per_pair.mean(),
        "rewards/chosen": chosen_rewards.mean(),
        "rewards/rejected": rejected_rewards.mean(),
        "rewards/margins": (chosen_rewards - rejected_rewards).mean(),
        "rewards/accuracies": (chosen_rewards > rejected_rewards).double().mean(),
    }


def train(case: str, run: Run, adapter: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor], dtype: torch.dtype):
    return train_against_base(
        case, run.method, OPTIMIZER, adapter, batch, dtype, sequence_logprobs, lambda policy, reference: dpo_loss(policy, reference, run)
    )


def train_against_base(
    case: str,
    method: str,
    optimizer_settings: Dict[str, object],
    adapter: Dict[str, torch.Tensor],
    batch: Dict[str, torch.Tensor],
    dtype: torch.dtype,
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    objective: Callable[[torch.Tensor, torch.Tensor], Dict[str, torch.Tensor]],
    step_batches: Optional[Sequence[Dict[str, torch.Tensor]]] = None,
):
    """STEPS steps of objective(policy scores, reference scores), each row scored by score(logits, labels); the
    reference is the base model: LoRA switched off, or (full fine-tuning) a frozen copy of the initial weights.
    Every step trains on `batch`, or on step_batches[k] at step k when given.
    Returns the per-step loss, grad norm and the objective's other figures, and the final trainable tensors."""
    model = load_hf_model(os.path.join(GOLDEN_ROOT, case), dtype)
    frozen: CausalLM = copy.deepcopy(model).requires_grad_(False)
    if method == "lora":
        attach_lora(model, adapter, LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = make_optimizer(optimizer_settings, parameters)

    def reference_scores(scored: Dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            if method == "full":
                return score(frozen(scored["input_ids"], scored["attention_mask"]), scored["labels"])
            set_lora_enabled(model, False)
            logits = model(scored["input_ids"], scored["attention_mask"])
            set_lora_enabled(model, True)
            return score(logits, scored["labels"])

    history: Dict[str, List[float]] = {"losses": [], "grad_norms": []}
    for step in range(STEPS):
        step_batch = step_batches[step] if step_batches is not None else batch
        optimizer.zero_grad()
        policy = score(model(step_batch["input_ids"], step_batch["attention_mask"]), step_batch["labels"])
        parts = objective(policy, reference_scores(step_batch))
        parts["loss"].backward()
        grad_norm = torch.sqrt(sum(parameter.grad.double().pow(2).sum() for parameter in parameters))
        history["losses"].append(float(parts["loss"]))
        history["grad_norms"].append(float(grad_norm))
        for key, value in parts.items():
            if key != "loss":
                history.setdefault(key, []).append(float(value))
        optimizer.step()
    return history, trainable_tensors(model, method)


def assert_adapter_off_is_base(case: str, adapter: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor]) -> None:
    """LoRA's reference, the model with the adapter switched off, must be the base model itself."""
    folder = os.path.join(GOLDEN_ROOT, case)
    base = load_hf_model(folder, torch.float64)
    switched_off = load_hf_model(folder, torch.float64)
    attach_lora(switched_off, adapter, LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    set_lora_enabled(switched_off, False)
    with torch.no_grad():
        difference = sequence_logprobs(base(batch["input_ids"], batch["attention_mask"]), batch["labels"]) - (
            sequence_logprobs(switched_off(batch["input_ids"], batch["attention_mask"]), batch["labels"])
        )
    if float(difference.abs().max()) > 1e-10:
        raise SystemExit(f"make_golden_preference: {case}: the adapter switched off differs from the base model")


def make_case(case: str) -> None:
    spec = CASES[case]
    folder = os.path.join(GOLDEN_ROOT, f"train-dpo-{case}")
    recreate_folder(folder)
    adapter = read_safetensors(os.path.join(GOLDEN_ROOT, f"train-{case}", "adapter", "adapter_model.safetensors"))
    rows = preference_batch(case, int(spec["seed"]))
    write_json(os.path.join(folder, "inputs.json"), rows)
    batch = {key: torch.tensor(value) for key, value in rows.items()}
    assert_adapter_off_is_base(case, adapter, batch)

    runs = []
    for run in spec["runs"]:
        history, tensors = train(case, run, adapter, batch, torch.float64)
        history32, _ = train(case, run, adapter, batch, torch.float32)
        params = {"beta": BETA, "loss_type": run.loss_type, "label_smoothing": run.label_smoothing}
        f32_diff = max(abs(a - b) for a, b in zip(history["losses"], history32["losses"]))
        check = {"float32_loss_max_abs_diff": f32_diff}
        runs.append(recipe_run_record(folder, run.name, run.method, params, STEPS, history, tensors, check))
        print(
            f"{case} {run.name}: losses {[round(v, 5) for v in history['losses']]}, "
            f"margins {[round(v, 5) for v in history['rewards/margins']]}, "
            f"f32 loss diff {f32_diff:.1e}"
        )

    write_recipe_expected(folder, case, OPTIMIZER, runs)


def main() -> None:
    run_cases("make_golden_preference", __doc__, sorted(CASES), make_case)


if __name__ == "__main__":
    main()
