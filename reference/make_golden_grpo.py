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

Inner iterations (TRL's num_iterations, mu = ITERATIONS = 2) -> test/fixtures/golden/train-grpo-iterations-<case>/,
the same files: rollouts.jsonl holds 3 rollout batches of 2 groups each (8 rows), and the 5 steps train batches
0, 0, 1, 1, 2 (each batch for mu consecutive AdamW steps, the last one cut short), as
`train --recipe grpo --rollouts FILE --batch-size 8 --no-shuffle --max-steps 5` with num_iterations 2 does. The old
log-probs of a batch are its first step's log-probs, detached (computed before that step's update), so on its
second step coef_1 = exp(logp - old) is not 1 and the clip acts; epsilon and epsilon_high are small enough that
some tokens are clipped, and every ratio keeps a margin from the clip bounds that float32 cannot cross (checked).

Everything is computed in float64 from the float32 stored weights.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

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


EPSILON = 0.2


@dataclass(frozen=True)
class Run:
    name: str
    method: str  # "full" | "lora"
    loss_type: str  # "grpo" | "dr_grpo" | "dapo"
    beta: float = 0.0
    epsilon: float = EPSILON
    epsilon_high: float = 0.0  # 0: the same as epsilon
    scale_rewards: bool = True
    max_completion_length: int = 256


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

ITERATIONS = 2
ROWS_PER_BATCH = 8
# Per group, as GROUPS: 3 rollout batches of 2 groups. No row's advantage is 0: with full fine-tuning and the KL, the
# embedding rows of its tokens would have an exactly zero gradient on the first step in float64 and a tiny one in
# float32, which AdamW turns into a whole step (see CASES).
ITERATION_GROUPS = [
    (4, [5, 3, 7, 2], [1.0, 0.0, 0.5, 0.0]),
    (3, [4, 6, 2, 5], [0.25, 1.0, 1.0, 0.5]),
    (5, [3, 4, 6, 2], [0.0, 1.0, 0.0, 0.5]),
    (4, [6, 2, 5, 3], [1.0, 0.75, 0.0, 0.25]),
    (3, [2, 5, 4, 6], [0.5, 0.0, 1.0, 1.0]),
    (5, [4, 3, 2, 6], [0.0, 0.25, 1.0, 0.0]),
]
# One AdamW step moves LoRA's ratios by a few percent, full fine-tuning's by tens of percent: the clip bounds are
# chosen so that a part of the tokens is clipped on each second step (DAPO's 0.2 / 0.28 for full fine-tuning).
ITERATION_RUNS = [
    Run("lora-grpo-kl", "lora", "grpo", beta=0.05, epsilon=0.05, epsilon_high=0.08),
    Run("lora-dapo", "lora", "dapo", epsilon=0.05, epsilon_high=0.08),
    Run("full-grpo", "full", "grpo", epsilon_high=0.28),
    Run("full-dapo-kl", "full", "dapo", beta=0.05, epsilon_high=0.28),
]
ITERATION_CASES = {f"iterations-{case}": case for case in CASES}
# float32 follows float64 to ~1e-6 in the ratios: a ratio nearer a clip bound than this could fall either side.
CLIP_MARGIN = 1e-4


def rollout_rows(case: str, seed: int, groups: Sequence[tuple] = GROUPS) -> List[Dict[str, object]]:
    with open(os.path.join(GOLDEN_ROOT, case, "config.json"), "r", encoding="utf-8") as handle:
        vocab_size = json.load(handle)["vocab_size"]
    generator = torch.Generator().manual_seed(seed)
    ids = lambda n: torch.randint(3, vocab_size, (n,), generator=generator).tolist()  # noqa: E731
    rows = []
    for group, (prompt_length, completion_lengths, rewards) in enumerate(groups):
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


def grpo_loss(
    policy, reference, run: Run, rewards: torch.Tensor, mask: torch.Tensor, old: Optional[torch.Tensor] = None
) -> Dict[str, torch.Tensor]:
    """The loss and metrics of one step; `old` the old policy's log-probs (None: logp itself, detached)."""
    logp, entropy = policy
    ref = reference[0]
    grouped = rewards.view(-1, GROUP_SIZE)
    mean = grouped.mean(dim=1).repeat_interleave(GROUP_SIZE)
    std = grouped.std(dim=1).repeat_interleave(GROUP_SIZE)
    advantages = rewards - mean
    if run.scale_rewards:
        advantages = advantages / (std + STD_EPSILON)
    epsilon_high = run.epsilon_high or run.epsilon
    coef_1 = torch.exp(logp - (logp.detach() if old is None else old))
    coef_2 = torch.clamp(coef_1, 1 - run.epsilon, 1 + epsilon_high)
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
    is_clipped = ((coef_1 < 1 - run.epsilon) & (a < 0)) | ((coef_1 > 1 + epsilon_high) & (a > 0))
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


def start_folder(folder: str, case: str, rows: List[Dict[str, object]]) -> Dict[str, torch.Tensor]:
    """An empty golden folder holding `rows` as its rollouts.jsonl; returns the case's starting LoRA adapter."""
    recreate_folder(folder)
    with open(os.path.join(folder, "rollouts.jsonl"), "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    return read_safetensors(os.path.join(GOLDEN_ROOT, f"train-{case}", "adapter", "adapter_model.safetensors"))


def run_params(run: Run) -> Dict[str, object]:
    """The grpo parameters of a run, as the recipe takes them."""
    return {
        "group_size": GROUP_SIZE,
        "loss_type": run.loss_type,
        "beta": run.beta,
        "epsilon": run.epsilon,
        "epsilon_high": run.epsilon_high,
        "scale_rewards": run.scale_rewards,
        "max_completion_length": run.max_completion_length,
    }


def make_case(case: str) -> None:
    folder = os.path.join(GOLDEN_ROOT, f"train-grpo-{case}")
    rows = rollout_rows(case, int(CASES[case]["seed"]))
    adapter = start_folder(folder, case, rows)
    batch = rollout_batch(rows)
    rewards = torch.tensor([row["reward"] for row in rows], dtype=torch.float64)
    check_advantages(rewards)

    runs = []
    for run in CASES[case]["runs"]:
        history, tensors = train(case, run, adapter, batch, rewards, torch.float64)
        history32, _ = train(case, run, adapter, batch, rewards, torch.float32)
        f32_diff = max(abs(a - b) for a, b in zip(history["grad_norms"], history32["grad_norms"]))
        check = {"float32_grad_norm_max_abs_diff": f32_diff}
        runs.append(recipe_run_record(folder, run.name, run.method, run_params(run), STEPS, history, tensors, check))
        print(
            f"{case} {run.name}: losses {[round(v, 6) for v in history['losses']]}, "
            f"grad norms {[round(v, 5) for v in history['grad_norms']]}, f32 grad-norm diff {f32_diff:.1e}"
        )

    write_recipe_expected(folder, case, OPTIMIZER, runs)


class OldPolicy:
    """TRL's old_per_token_logps with num_iterations: a rollout batch's first step keeps its log-probs, detached,
    and its later steps take the ratio against them. Also notes how near a clip bound any ratio came."""

    def __init__(self, run: Run):
        self.bounds = (1 - run.epsilon, 1 + (run.epsilon_high or run.epsilon))
        self.steps = 0
        self.logp: Optional[torch.Tensor] = None
        self.nearest = float("inf")

    def __call__(self, logp: torch.Tensor, mask: torch.Tensor) -> Optional[torch.Tensor]:
        first = self.steps % ITERATIONS == 0
        self.steps += 1
        if first:
            self.logp = logp.detach()
            return None
        ratio = torch.exp(logp.detach() - self.logp)[mask > 0]
        self.nearest = min(self.nearest, *(float((ratio - bound).abs().min()) for bound in self.bounds))
        return self.logp


def train_iterations(case: str, run: Run, adapter, batches: List[Dict[str, torch.Tensor]], rewards, dtype):
    """STEPS steps, step k on batches[k // ITERATIONS] with the ratio to that batch's first step."""
    schedule = [step // ITERATIONS for step in range(STEPS)]
    masks = [(batch["labels"][:, 1:] != -100).to(dtype) for batch in batches]
    old = OldPolicy(run)

    def objective(policy, reference):
        index = schedule[old.steps]
        mask = masks[index]
        return grpo_loss(policy, reference, run, rewards[index].to(dtype), mask, old(policy[0], mask))

    history, tensors = train_against_base(
        case, run.method, OPTIMIZER, adapter, batches[0], dtype, token_scores, objective,
        step_batches=[batches[index] for index in schedule],
    )
    return history, tensors, old.nearest


def make_iterations_case(case: str) -> None:
    folder = os.path.join(GOLDEN_ROOT, f"train-grpo-iterations-{case}")
    rows = rollout_rows(case, int(CASES[case]["seed"]) + 100, ITERATION_GROUPS)
    adapter = start_folder(folder, case, rows)
    parts = [rows[start : start + ROWS_PER_BATCH] for start in range(0, len(rows), ROWS_PER_BATCH)]
    batches = [rollout_batch(part) for part in parts]
    rewards = [torch.tensor([row["reward"] for row in part], dtype=torch.float64) for part in parts]
    for part_rewards in rewards:
        grouped = part_rewards.view(-1, GROUP_SIZE)
        if bool((grouped == grouped.mean(dim=1, keepdim=True)).any()):
            raise SystemExit(f"make_golden_grpo: a row of {grouped.tolist()} has advantage 0")

    runs = []
    for run in ITERATION_RUNS:
        history, tensors, nearest = train_iterations(case, run, adapter, batches, rewards, torch.float64)
        history32, _, _ = train_iterations(case, run, adapter, batches, rewards, torch.float32)
        f32_diff = max(abs(a - b) for a, b in zip(history["grad_norms"], history32["grad_norms"]))
        clip_ratios = history["clip/ratio"]
        if max(clip_ratios) == 0 or nearest < CLIP_MARGIN or clip_ratios != history32["clip/ratio"]:
            raise SystemExit(
                f"make_golden_grpo: {case} {run.name}: clip ratios {clip_ratios} (float32 {history32['clip/ratio']}), "
                f"nearest ratio to a clip bound {nearest:.2e}: the clip is not tested robustly"
            )
        params = {**run_params(run), "num_iterations": ITERATIONS}
        check = {"float32_grad_norm_max_abs_diff": f32_diff, "nearest_ratio_to_clip_bound": nearest}
        runs.append(recipe_run_record(folder, run.name, run.method, params, STEPS, history, tensors, check))
        print(
            f"iterations-{case} {run.name}: losses {[round(v, 6) for v in history['losses']]}, "
            f"clip ratios {[round(v, 4) for v in clip_ratios]}, nearest ratio to a clip bound {nearest:.1e}, "
            f"f32 grad-norm diff {f32_diff:.1e}"
        )

    write_recipe_expected(folder, case, OPTIMIZER, runs)


def make_any_case(name: str) -> None:
    if name in ITERATION_CASES:
        make_iterations_case(ITERATION_CASES[name])
    else:
        make_case(name)


def main() -> None:
    run_cases("make_golden_grpo", __doc__, sorted(CASES) + sorted(ITERATION_CASES), make_any_case)


if __name__ == "__main__":
    main()
