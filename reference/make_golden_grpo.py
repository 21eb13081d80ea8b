"""Golden GRPO trajectories on given rollouts -> test/fixtures/golden/train-grpo-<case>/ (run
make_golden_inference.py and make_golden_training.py first: the base model is read from test/fixtures/golden/<case>/
and the starting LoRA adapter from test/fixtures/golden/train-<case>/adapter/).

Each folder holds:
  rollouts.jsonl                     the rollout rows, as `train --recipe grpo --rollouts FILE` reads them:
                                     {"prompt_ids", "completion_ids", "reward", "group"}, 3 groups of G = 4
                                     consecutive rows sharing a prompt; rewards varied, the last group's all equal
  expected.json                      settings and per-step figures of every run
  final-<run>.safetensors            trainable tensors after the last step (F32)

The batch is every row, right-padded (id 0): input ids = prompt + completion, labels -100 on the prompt and the
padding. Runs (same batch every step, AdamW, no clipping, no schedule, no dropout), LoRA from the given adapter and
full fine-tuning, each loss type, the KL to the base in two LoRA runs (and a full one on qwen2-tied), with the loss of TRL's GRPOTrainer (trl/trainer/grpo_trainer.py,
_generate_and_score_completions and _compute_loss) for one update per rollout batch (old log-probs = the
log-probs, detached):
  A      = r - mean_group(r), divided by (std_group(r) + 1e-4) when scale_rewards (torch.std: unbiased)
  coef_1 = exp(logp - logp.detach()), coef_2 = clamp(coef_1, 1 - eps, 1 + eps_high)
  l_t    = -min(coef_1 A, coef_2 A) + beta (exp(ref - logp) - (ref - logp) - 1)   (KL only when beta > 0)
  grpo     mean_b (sum_t m l / max(sum_t m, 1))
  dr_grpo  sum m l / (B * max_completion_length)
  dapo     sum m l / sum m
logp the per-token log-probability of the completion tokens (HF shift), ref the frozen base model's (LoRA switched
off, or a frozen copy of the initial weights), m the completion mask. Metrics: rewards/mean, rewards/std (mean of
the group stds over rows), advantages/abs_mean, kl/mean (beta > 0: sum m kl / sum m), clip/ratio (TRL's is_clipped
share), completions/mean_length, groups/zero_std_share (share of rows whose group std is 0), entropy/mean
(sum m H / sum m, H the policy's entropy at the predicting position).

Everything is computed in float64 from the float32 stored weights.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F

from golden_io import GOLDEN_ROOT, recreate_folder, run_cases, write_recipe_expected
from make_golden_preference import STEPS, train_against_base
from make_golden_training import ADAMW, recipe_run_record
from safetensors_io import read_safetensors

# As the other recipe goldens: a tenth of the SFT runs' rate keeps float32 on the float64 trajectory.
OPTIMIZER = {**ADAMW, "lr": 1e-3}
GROUP_SIZE = 4
STD_EPSILON = 1e-4
# Per group: prompt length, completion lengths, rewards (exact in binary, so an equal group has std exactly 0).
GROUPS = [
    (4, [5, 3, 7, 2], [1.0, 0.0, 0.5, 0.0]),
    (3, [4, 6, 2, 5], [0.25, 1.0, 1.0, 0.75]),
    (5, [3, 4, 6, 2], [1.0, 1.0, 1.0, 1.0]),
]


@dataclass(frozen=True)
class Run:
    name: str
    method: str  # "full" | "lora"
    loss_type: str  # "grpo" | "dr_grpo" | "dapo"
    beta: float = 0.0
    epsilon_high: float = 0.0  # 0: the same as epsilon
    scale_rewards: bool = True
    max_completion_length: int = 256


EPSILON = 0.2
COMMON_RUNS = [
    Run("lora-grpo-kl", "lora", "grpo", beta=0.05),
    Run("lora-dr_grpo-kl-unscaled", "lora", "dr_grpo", beta=0.05, scale_rewards=False, max_completion_length=8),
    Run("lora-dapo-clip-higher", "lora", "dapo", epsilon_high=0.28),
    Run("full-grpo", "full", "grpo"),
    Run("full-dr_grpo", "full", "dr_grpo", max_completion_length=8),
    Run("full-dapo-clip-higher", "full", "dapo", epsilon_high=0.28),
]
# Full fine-tuning with the KL on the tied model only. On the untied one, the embedding rows of tokens that only the
# equal-reward group holds have an exactly zero gradient at step 1 (A = 0 there, and the KL's gradient is 0 while the
# model is the base): float32 rounding gives them a tiny one, which AdamW's normalised update turns into a whole step.
CASES = {
    "llama-untied": {"seed": 41, "runs": COMMON_RUNS},
    "qwen2-tied": {"seed": 42, "runs": COMMON_RUNS + [Run("full-grpo-kl", "full", "grpo", beta=0.05)]},
}


def rollout_rows(case: str, seed: int) -> List[Dict[str, object]]:
    with open(os.path.join(GOLDEN_ROOT, case, "config.json"), "r", encoding="utf-8") as handle:
        vocab_size = json.load(handle)["vocab_size"]
    generator = torch.Generator().manual_seed(seed)
    ids = lambda n: torch.randint(3, vocab_size, (n,), generator=generator).tolist()  # noqa: E731
    rows = []
    for group, (prompt_length, completion_lengths, rewards) in enumerate(GROUPS):
        prompt = ids(prompt_length)
        for length, reward in zip(completion_lengths, rewards):
            rows.append({"prompt_ids": prompt, "completion_ids": ids(length), "reward": reward, "group": group})
    return rows


def rollout_batch(rows: List[Dict[str, object]]) -> Dict[str, torch.Tensor]:
    columns = max(len(row["prompt_ids"]) + len(row["completion_ids"]) for row in rows)
    input_ids, attention_mask, labels = [], [], []
    for row in rows:
        prompt, completion = row["prompt_ids"], row["completion_ids"]
        padding = columns - len(prompt) - len(completion)
        input_ids.append(prompt + completion + [0] * padding)
        attention_mask.append([1] * (len(prompt) + len(completion)) + [0] * padding)
        labels.append([-100] * len(prompt) + completion + [-100] * padding)
    return {"input_ids": torch.tensor(input_ids), "attention_mask": torch.tensor(attention_mask), "labels": torch.tensor(labels)}


def check_advantages(rewards: torch.Tensor) -> None:
    """Each group's advantages sum to 0, and the equal-reward group's are exactly 0 (it teaches nothing)."""
    grouped = rewards.view(-1, GROUP_SIZE)
    advantages = (grouped - grouped.mean(dim=1, keepdim=True)) / (grouped.std(dim=1, keepdim=True) + STD_EPSILON)
    if float(advantages.sum(dim=1).abs().max()) > 1e-12 or float(advantages[-1].abs().max()) != 0.0:
        raise SystemExit(f"make_golden_grpo: unexpected advantages {advantages.tolist()}")


def token_scores(logits: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per predicting position: log p(target) and the entropy of the distribution, (B, T-1) each."""
    log_probabilities = F.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
    targets = labels[:, 1:].clamp(min=0)
    token = log_probabilities.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    entropy = -(log_probabilities.exp() * log_probabilities).sum(-1)
    return token, entropy.detach()


def grpo_loss(policy, reference, run: Run, rewards: torch.Tensor, mask: torch.Tensor) -> Dict[str, torch.Tensor]:
    logp, entropy = policy
    ref = reference[0]
    grouped = rewards.view(-1, GROUP_SIZE)
    mean = grouped.mean(dim=1).repeat_interleave(GROUP_SIZE)
    std = grouped.std(dim=1).repeat_interleave(GROUP_SIZE)
    advantages = rewards - mean
    if run.scale_rewards:
        advantages = advantages / (std + STD_EPSILON)
    epsilon_high = run.epsilon_high or EPSILON
    coef_1 = torch.exp(logp - logp.detach())
    coef_2 = torch.clamp(coef_1, 1 - EPSILON, 1 + epsilon_high)
    a = advantages.unsqueeze(1)
    per_token = -torch.min(coef_1 * a, coef_2 * a)
    kl = torch.exp(ref - logp) - (ref - logp) - 1
    if run.beta != 0.0:
        per_token = per_token + run.beta * kl
    if run.loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    elif run.loss_type == "dr_grpo":
        loss = (per_token * mask).sum() / (per_token.size(0) * run.max_completion_length)
    else:
        loss = (per_token * mask).sum() / mask.sum()
    is_clipped = ((coef_1 < 1 - EPSILON) & (a < 0)) | ((coef_1 > 1 + epsilon_high) & (a > 0))
    token_mean = lambda value: (value * mask).sum() / mask.sum()  # noqa: E731
    parts = {
        "loss": loss,
        "rewards/mean": rewards.mean(),
        "rewards/std": std.mean(),
        "advantages/abs_mean": advantages.abs().mean(),
        "clip/ratio": token_mean(is_clipped.double()),
        "completions/mean_length": mask.sum(-1).mean(),
        "groups/zero_std_share": (std == 0).double().mean(),
        "entropy/mean": token_mean(entropy),
    }
    if run.beta != 0.0:
        parts["kl/mean"] = token_mean(kl.detach())
    return parts


def train(case: str, run: Run, adapter: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor], rewards, dtype):
    mask = (batch["labels"][:, 1:] != -100).to(dtype)
    return train_against_base(
        case,
        run.method,
        OPTIMIZER,
        adapter,
        batch,
        dtype,
        token_scores,
        lambda policy, reference: grpo_loss(policy, reference, run, rewards.to(dtype), mask),
    )


def make_case(case: str) -> None:
    folder = os.path.join(GOLDEN_ROOT, f"train-grpo-{case}")
    recreate_folder(folder)
    adapter = read_safetensors(os.path.join(GOLDEN_ROOT, f"train-{case}", "adapter", "adapter_model.safetensors"))
    rows = rollout_rows(case, int(CASES[case]["seed"]))
    with open(os.path.join(folder, "rollouts.jsonl"), "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    batch = rollout_batch(rows)
    rewards = torch.tensor([row["reward"] for row in rows], dtype=torch.float64)
    check_advantages(rewards)

    runs = []
    for run in CASES[case]["runs"]:
        history, tensors = train(case, run, adapter, batch, rewards, torch.float64)
        history32, _ = train(case, run, adapter, batch, rewards, torch.float32)
        f32_diff = max(abs(a - b) for a, b in zip(history["grad_norms"], history32["grad_norms"]))
        params = {
            "group_size": GROUP_SIZE,
            "loss_type": run.loss_type,
            "beta": run.beta,
            "epsilon": EPSILON,
            "epsilon_high": run.epsilon_high,
            "scale_rewards": run.scale_rewards,
            "max_completion_length": run.max_completion_length,
        }
        check = {"float32_grad_norm_max_abs_diff": f32_diff}
        runs.append(recipe_run_record(folder, run.name, run.method, params, STEPS, history, tensors, check))
        print(
            f"{case} {run.name}: losses {[round(v, 6) for v in history['losses']]}, "
            f"grad norms {[round(v, 5) for v in history['grad_norms']]}, f32 grad-norm diff {f32_diff:.1e}"
        )

    write_recipe_expected(folder, case, OPTIMIZER, runs)


def main() -> None:
    run_cases("make_golden_grpo", __doc__, sorted(CASES), make_case)


if __name__ == "__main__":
    main()
