"""Golden trajectories of the otr recipe (One-Token Rollout) with given sampled tokens -> test/fixtures/golden/
train-otr-<case>/ (run make_golden_inference.py and make_golden_training.py first: the base model is read from
test/fixtures/golden/<case>/, its batch from <case>/inputs.json, and the starting LoRA adapter from
test/fixtures/golden/train-<case>/adapter/).

The engine samples otr's tokens in the graph; here they are drawn once and given, so the loss is deterministic:
  inputs.json                        the batch of <case>/inputs.json, plus
                                       sampled_0 .. sampled_{K-1}  (B, T) token ids aligned with the PREDICTING
                                                      position: sampled_k[b, t] is a candidate for labels[b, t+1];
                                                      0 where there is no target. sampled_0 is the gold token on
                                                      every other trained position (so hits occur), the rest are
                                                      drawn from the LoRA model's distribution before any step.
  expected.json                      settings and per-step figures of every run
  final-<run>.safetensors            trainable tensors after the last step (F32)

Runs (same batch and tokens every step, AdamW, no clipping), LoRA from the given adapter and full fine-tuning:
  logp[b, t, v] = log_softmax(logits)[b, t, v] for t < T-1, y[b, t] = labels[b, t+1], m = (y != -100)
  r_k = 1 where sampled_k = y, MISS_REWARD elsewhere (constants, no gradient)
  loss = sum(m * -(1/K) sum_k r_k logp[a_k]) / sum(m),  hit_rate = sum(m * (1/K) sum_k [a_k = y]) / sum(m)

Everything is computed in float64 from the float32 stored weights.
"""

from __future__ import annotations

import os
from typing import Dict, List

import torch
import torch.nn.functional as F

from golden_io import GOLDEN_ROOT, recreate_folder, run_cases, tensor_checksums, write_json, write_recipe_expected
from llama_ref import LORA_TARGETS_ALL, attach_lora, load_hf_model
from make_golden_training import ADAMW, LORA_ALPHA, LORA_RANK, load_batch, make_optimizer, trainable_tensors, write_final_tensors
from safetensors_io import read_safetensors

STEPS = 5
SAMPLES = 3
MISS_REWARD = -0.25
SAMPLING_SEED = 14
CASES = ("llama-untied", "qwen2-tied")
METHODS = ("lora", "full")


def lora_model(case: str, adapter: Dict[str, torch.Tensor], dtype: torch.dtype):
    model = load_hf_model(os.path.join(GOLDEN_ROOT, case), dtype)
    attach_lora(model, adapter, LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    return model


def sampled_tokens(case: str, adapter: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
    """SAMPLES (B, T) int64 tensors of candidate tokens per predicting position (see the docstring)."""
    with torch.no_grad():
        logits = lora_model(case, adapter, torch.float64)(batch["input_ids"], batch["attention_mask"])
    probabilities = F.softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
    rows, columns, vocab = probabilities.shape
    targets = batch["labels"][:, 1:]  # (B, T-1)
    trained = targets != -100
    generator = torch.Generator().manual_seed(SAMPLING_SEED)
    samples = []
    for k in range(SAMPLES):
        drawn = torch.multinomial(probabilities.reshape(-1, vocab), 1, generator=generator).reshape(rows, columns)
        if k == 0:
            every_other = (torch.arange(columns) % 2 == 0).expand(rows, columns)
            drawn = torch.where(every_other, targets.clamp(min=0), drawn)
        drawn = torch.where(trained, drawn, torch.zeros_like(drawn))
        samples.append(F.pad(drawn, (0, 1)))  # (B, T): the last column predicts nothing
    return samples


def otr_loss(logits: torch.Tensor, labels: torch.Tensor, samples: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
    log_probabilities = F.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
    targets = labels[:, 1:]  # (B, T-1)
    mask = (targets != -100).to(log_probabilities.dtype)
    objective = torch.zeros_like(mask)
    hits = torch.zeros_like(mask)
    for tokens in samples:
        chosen = tokens[:, :-1]  # (B, T-1)
        hit = (chosen == targets).to(mask.dtype)
        reward = hit + (1 - hit) * MISS_REWARD
        objective = objective + reward * log_probabilities.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
        hits = hits + hit
    return {
        "loss": (mask * -objective / SAMPLES).sum() / mask.sum(),
        "hit_rate": (mask * hits / SAMPLES).sum() / mask.sum(),
    }


def train(case: str, method: str, adapter, batch, samples, dtype: torch.dtype):
    model = lora_model(case, adapter, dtype) if method == "lora" else load_hf_model(os.path.join(GOLDEN_ROOT, case), dtype)
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = make_optimizer(ADAMW, parameters)
    history: Dict[str, List[float]] = {"losses": [], "grad_norms": [], "hit_rates": []}
    for _ in range(STEPS):
        optimizer.zero_grad()
        parts = otr_loss(model(batch["input_ids"], batch["attention_mask"]), batch["labels"], samples)
        parts["loss"].backward()
        grad_norm = torch.sqrt(sum(parameter.grad.double().pow(2).sum() for parameter in parameters))
        history["losses"].append(float(parts["loss"]))
        history["grad_norms"].append(float(grad_norm))
        history["hit_rates"].append(float(parts["hit_rate"]))
        optimizer.step()
    return history, trainable_tensors(model, method)


def make_case(case: str) -> None:
    folder = os.path.join(GOLDEN_ROOT, f"train-otr-{case}")
    recreate_folder(folder)
    adapter = read_safetensors(os.path.join(GOLDEN_ROOT, f"train-{case}", "adapter", "adapter_model.safetensors"))
    batch = load_batch(case)
    samples = sampled_tokens(case, adapter, batch)
    write_json(
        os.path.join(folder, "inputs.json"),
        {
            **{key: value.tolist() for key, value in batch.items()},
            **{f"sampled_{k}": tokens.tolist() for k, tokens in enumerate(samples)},
        },
    )

    runs = []
    for method in METHODS:
        name = f"{method}-otr"
        history, tensors = train(case, method, adapter, batch, samples, torch.float64)
        history32, _ = train(case, method, adapter, batch, samples, torch.float32)
        file_name, stored = write_final_tensors(folder, name, method, tensors)
        f32_diff = max(abs(a - b) for a, b in zip(history["losses"], history32["losses"]))
        runs.append(
            {
                "name": name,
                "method": method,
                "params": {"samples": SAMPLES, "miss_reward": MISS_REWARD},
                "steps": STEPS,
                **history,
                "final_tensors_file": file_name,
                "final_tensors": sorted(stored),
                "checksums": tensor_checksums(tensors),
                "float32_loss_max_abs_diff": f32_diff,
            }
        )
        losses = [round(v, 5) for v in history["losses"]]
        print(f"{case} {name}: losses {losses}, hit rate {history['hit_rates'][0]:.4f}, f32 loss diff {f32_diff:.1e}")

    write_recipe_expected(folder, case, ADAMW, runs)


def main() -> None:
    run_cases("make_golden_otr", __doc__, list(CASES), make_case)


if __name__ == "__main__":
    main()
