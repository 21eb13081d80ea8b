"""The GRPO line of torch_train.py: grpo on the model's own samples, the work of one step of ours
(bench/train-grpo.ts) in PyTorch eager. Per step, each of grpo_shape's prompts is answered GROUP_SIZE times
(sample_completions: temperature 1, batched, KV cache), each completion is rewarded, and the step trains
on prompt + completion with TRL's GRPO loss (reference/make_golden_grpo.py's grpo_loss: dapo, beta 0, one
update per rollout batch), backward, AdamW. The LoRA and AdamW are the lora line's.

The reward is ours: length_penalty over the completion's text as bench/train-grpo.ts's tokenizer decodes it
(token id t reads "w<t>", joined by spaces) with max_length = cache_length = 8 characters per token, that
is −characters / (8 · completion tokens): it differs between completions, so every group trains.
"""

from __future__ import annotations

import time
from typing import Dict, List, Tuple

import torch

from torch_common import median, model_summary, peak_rss_mib, sample_completions, trainable_model
from make_golden_grpo import Run, grpo_loss, token_scores  # noqa: E402  (torch_common puts reference/ on sys.path)

# As bench/train-grpo.ts (grpoShape).
GROUP_SIZE = 4
LOSS = Run("bench", "lora", "dapo")


def grpo_shape(quick: bool) -> Dict[str, int]:
    return {
        "prompts": 2 if quick else 4,
        "prompt_tokens": 16 if quick else 32,
        "completion_tokens": 16 if quick else 32,
    }


def length_penalty(completion: List[int], completion_tokens: int) -> float:
    characters = len(" ".join(f"w{token}" for token in completion))
    return -characters / (8.0 * completion_tokens)


def grpo_step(model, optimizer, prompts: List[List[int]], completion_tokens: int, seed: int) -> Tuple[float, float]:
    """One step; returns the seconds spent generating and the seconds spent training."""
    started = time.perf_counter()
    rows = []
    for index, prompt in enumerate(prompts):
        completions = sample_completions(model, prompt, GROUP_SIZE, completion_tokens, seed=seed + index)
        rows.append(torch.cat([torch.tensor([prompt]).repeat(GROUP_SIZE, 1), completions], dim=1))
    generated = time.perf_counter()
    input_ids = torch.cat(rows)  # (prompts * G, prompt + completion)
    completions = input_ids[:, len(prompts[0]) :]
    rewards = torch.tensor([length_penalty(row.tolist(), completion_tokens) for row in completions])
    labels = input_ids.clone()
    labels[:, : len(prompts[0])] = -100
    mask = (labels[:, 1:] != -100).float()

    optimizer.zero_grad(set_to_none=True)
    logp, entropy = token_scores(model(input_ids), labels)
    # beta = 0: the reference log-probs only feed the KL, which the loss leaves out.
    grpo_loss((logp, entropy), (logp.detach(),), LOSS, rewards, mask)["loss"].backward()
    optimizer.step()
    return generated - started, time.perf_counter() - generated


def bench_grpo(quick: bool, repeats: int) -> Tuple[Dict[str, object], Dict[str, object]]:
    shape = grpo_shape(quick)
    model, _, optimizer = trainable_model("lora", quick)
    generator = torch.Generator().manual_seed(3)
    prompt_count, prompt_tokens = shape["prompts"], shape["prompt_tokens"]
    completion_tokens = shape["completion_tokens"]
    generating, training = [], []
    for step in range(1 + repeats):  # one warm-up step, as the other lines
        prompts = torch.randint(3, model.config.vocab_size, (prompt_count, prompt_tokens), generator=generator)
        seconds = grpo_step(model, optimizer, prompts.tolist(), completion_tokens, seed=100 * step)
        if step > 0:
            generating.append(seconds[0])
            training.append(seconds[1])
    rollout_tokens = prompt_count * GROUP_SIZE * completion_tokens
    train_tokens = prompt_count * GROUP_SIZE * (prompt_tokens + completion_tokens)
    return {
        "method": "grpo",
        **shape,
        "group_size": GROUP_SIZE,
        "loss": {"type": LOSS.loss_type, "beta": LOSS.beta, "iterations": 1},
        "repeats": repeats,
        "rollout_seconds_all": generating,
        "train_seconds_all": training,
        "rollout_tokens_per_s": rollout_tokens / median(generating),
        "train_tokens_per_s": train_tokens / median(training),
        "peak_rss_mib_after": peak_rss_mib(),
    }, model_summary(model)
