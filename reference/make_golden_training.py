"""Golden training trajectories -> test/fixtures/golden/train-<case>/ (run make_golden_inference.py first:
the base model and the batch are read from test/fixtures/golden/<case>/).

Each folder holds:
  adapter/adapter_config.json, adapter/adapter_model.safetensors   the GIVEN starting LoRA adapter (PEFT layout)
  expected.json                                                     settings and per-step figures of every run
  final-<run>.safetensors                                           trainable tensors after the last step (F32)

Runs (same batch every step, no gradient clipping, no schedule, no dropout):
  full-sgd, full-adamw     full fine-tuning of every parameter
  lora-sgd, lora-adamw     LoRA from the given adapter; the base model frozen
  lora-adamw-dft, lora-adamw-asft (llama-untied only)   the DFT and ASFT losses

Losses, over labelled positions only (HF shift: the label at t is predicted from the logits at t-1;
-100 ignored), averaged over the N labelled tokens of the whole batch:
  sft  = (1/N) sum_t -log p(y_t)
  dft  = (1/N) sum_t -log p(y_t) * sg(p(y_t))                       (sg = stop-gradient)
  asft = (1/N) sum_t [ -log p(y_t) * sg(p(y_t)) + lambda * KL(p_base(.|t) || p(.|t)) ]
         KL(p_base || p) = sum_v p_base(v) (log p_base(v) - log p(v)), p_base = the frozen base model
         (LoRA: the same model with the adapter switched off); lambda = 0.1, as in the ASFT authors' code.

Everything is computed in float64 from the float32 stored weights; `float32_divergence` in each run says
how far the same run in float32 lands (losses: max abs diff; tensors: max abs diff / max abs value).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from golden_io import GOLDEN_ROOT, recreate_folder, tensor_checksums, write_json
from llama_ref import (
    LORA_TARGETS_ALL,
    CausalLM,
    attach_lora,
    load_hf_model,
    lora_module_paths,
    lora_state_dict,
    peft_key,
    set_lora_enabled,
)
from safetensors_io import write_safetensors

LORA_RANK = 4
LORA_ALPHA = 8
ASFT_KL_WEIGHT = 0.1
ADAMW = {"type": "adamw", "lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}


@dataclass(frozen=True)
class Run:
    name: str
    method: str  # "full" | "lora"
    loss: str  # "sft" | "dft" | "asft"
    optimizer: Dict[str, object]
    steps: int
    extra: Dict[str, float] = field(default_factory=dict)


SGD = {"type": "sgd", "lr": 0.1, "momentum": 0.0, "weight_decay": 0.0}
COMMON_RUNS = [
    Run("full-sgd", "full", "sft", SGD, 5),
    Run("full-adamw", "full", "sft", ADAMW, 5),
    Run("lora-sgd", "lora", "sft", SGD, 5),
    Run("lora-adamw", "lora", "sft", ADAMW, 5),
]
RECIPE_RUNS = [
    Run("lora-adamw-dft", "lora", "dft", ADAMW, 3),
    Run("lora-adamw-asft", "lora", "asft", ADAMW, 3, {"kl_weight": ASFT_KL_WEIGHT}),
]
TRAIN_CASES = {
    "llama-untied": {"seed": 21, "runs": COMMON_RUNS + RECIPE_RUNS},
    "qwen2-tied": {"seed": 22, "runs": COMMON_RUNS},
}
# Full fine-tuning stores these tensors whole (when the model has them); every tensor gets a checksum.
FULL_FT_STORED = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.q_proj.bias",
    "model.layers.0.input_layernorm.weight",
    "model.layers.1.mlp.down_proj.weight",
    "model.norm.weight",
    "lm_head.weight",
]


def load_batch(case: str) -> Dict[str, torch.Tensor]:
    with open(os.path.join(GOLDEN_ROOT, case, "inputs.json"), "r", encoding="utf-8") as handle:
        raw = json.load(handle)
    return {key: torch.tensor(raw[key]) for key in ("input_ids", "attention_mask", "labels")}


def random_adapter(model: CausalLM, seed: int) -> Dict[str, torch.Tensor]:
    """Non-zero A ~ N(0, 1/in) and B ~ N(0, 0.1^2), so the adapter changes the model from step 0."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for layer_index, layer in enumerate(model.model.layers):
        for path in lora_module_paths(LORA_TARGETS_ALL):
            parent_name, child_name = path.split(".")
            linear = getattr(getattr(layer, parent_name), child_name)
            out_features, in_features = linear.weight.shape
            lora_a = torch.randn(LORA_RANK, in_features, generator=generator, dtype=torch.float64)
            lora_a = lora_a / math.sqrt(in_features)
            lora_b = 0.1 * torch.randn(out_features, LORA_RANK, generator=generator, dtype=torch.float64)
            tensors[peft_key(layer_index, path, "lora_A")] = lora_a.to(torch.float32)
            tensors[peft_key(layer_index, path, "lora_B")] = lora_b.to(torch.float32)
    return tensors


def write_adapter(folder: str, case: str, tensors: Dict[str, torch.Tensor]) -> None:
    os.makedirs(folder, exist_ok=True)
    adapter_config = {
        "base_model_name_or_path": f"../../{case}",
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": False,
        "init_lora_weights": True,
        "lora_alpha": LORA_ALPHA,
        "lora_dropout": 0.0,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": LORA_RANK,
        "target_modules": list(LORA_TARGETS_ALL),
        "task_type": "CAUSAL_LM",
        "use_rslora": False,
    }
    write_json(os.path.join(folder, "adapter_config.json"), adapter_config)
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), tensors, metadata={"format": "pt"})


def training_loss(
    logits: torch.Tensor, labels: torch.Tensor, kind: str, base_logits: Optional[torch.Tensor], kl_weight: float
) -> Dict[str, torch.Tensor]:
    log_probabilities = F.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
    targets = labels[:, 1:]  # (B, T-1)
    mask = targets != -100
    count = mask.sum()
    token_logprob = log_probabilities.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    nll = -token_logprob
    parts: Dict[str, torch.Tensor] = {"nll": (nll * mask).sum() / count}
    if kind == "sft":
        per_token = nll
    else:
        per_token = nll * token_logprob.exp().detach()
        parts["dft"] = (per_token * mask).sum() / count
        if kind == "asft":
            base_log_probabilities = F.log_softmax(base_logits[:, :-1], dim=-1)
            # KL(p_base || p) per position, summed over the vocabulary: (B, T-1)
            kl = (base_log_probabilities.exp() * (base_log_probabilities - log_probabilities)).sum(dim=-1)
            parts["kl"] = (kl * mask).sum() / count
            per_token = per_token + kl_weight * kl
    parts["loss"] = (per_token * mask).sum() / count
    return parts


def make_optimizer(spec: Dict[str, object], parameters: List[torch.nn.Parameter]) -> torch.optim.Optimizer:
    if spec["type"] == "sgd":
        return torch.optim.SGD(parameters, lr=spec["lr"], momentum=spec["momentum"], weight_decay=spec["weight_decay"])
    return torch.optim.AdamW(
        parameters, lr=spec["lr"], betas=tuple(spec["betas"]), eps=spec["eps"], weight_decay=spec["weight_decay"]
    )


def trainable_tensors(model: CausalLM, method: str) -> Dict[str, torch.Tensor]:
    if method == "lora":
        return lora_state_dict(model)
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def train(case: str, run: Run, adapter: Dict[str, torch.Tensor], dtype: torch.dtype):
    model = load_hf_model(os.path.join(GOLDEN_ROOT, case), dtype)
    if run.method == "lora":
        attach_lora(model, adapter, LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = make_optimizer(run.optimizer, parameters)
    batch = load_batch(case)
    kl_weight = float(run.extra.get("kl_weight", 0.0))
    if run.loss == "asft" and run.method != "lora":
        # The base distribution comes from switching the adapter off; full fine-tuning would need a frozen copy.
        raise ValueError(f"make_golden_training: run {run.name!r}: asft is only generated for LoRA runs")

    def forward() -> Dict[str, torch.Tensor]:
        base_logits = None
        if run.loss == "asft":
            with torch.no_grad():
                set_lora_enabled(model, False)
                base_logits = model(batch["input_ids"], batch["attention_mask"])
                set_lora_enabled(model, True)
        logits = model(batch["input_ids"], batch["attention_mask"])
        return training_loss(logits, batch["labels"], run.loss, base_logits, kl_weight)

    history: Dict[str, List[float]] = {"losses": [], "grad_norms": []}
    for _ in range(run.steps):
        optimizer.zero_grad()
        parts = forward()
        parts["loss"].backward()
        grad_norm = torch.sqrt(sum(parameter.grad.double().pow(2).sum() for parameter in parameters))
        history["losses"].append(float(parts["loss"]))
        history["grad_norms"].append(float(grad_norm))
        for key in ("nll", "dft", "kl"):
            # The nll term is only informative when it differs from the loss (dft/asft).
            if key in parts and run.loss != "sft":
                history.setdefault(f"{key}_terms", []).append(float(parts[key]))
        optimizer.step()
    with torch.no_grad():
        final_loss = float(forward()["loss"])
    return history, final_loss, trainable_tensors(model, run.method)


def write_final_tensors(
    folder: str, run_name: str, method: str, tensors: Dict[str, torch.Tensor]
) -> "tuple[str, Dict[str, torch.Tensor]]":
    """Writes final-<run>.safetensors (F32): every LoRA tensor, or FULL_FT_STORED of a full fine-tuning run."""
    if method == "lora":
        stored = tensors
    else:
        stored = {name: tensors[name] for name in FULL_FT_STORED if name in tensors}
    file_name = f"final-{run_name}.safetensors"
    write_safetensors(
        os.path.join(folder, file_name), {name: value.to(torch.float32) for name, value in stored.items()}
    )
    return file_name, stored


def recipe_run_record(
    folder: str,
    name: str,
    method: str,
    params: Dict[str, object],
    steps: int,
    history: Dict[str, List[float]],
    tensors: Dict[str, torch.Tensor],
    float32_check: Dict[str, float],
) -> Dict[str, object]:
    """One run of a recipe golden's expected.json: settings, per-step figures, the final tensors (written to
    `folder` by write_final_tensors) and their checksums, and how far a float32 run strayed."""
    file_name, stored = write_final_tensors(folder, name, method, tensors)
    return {
        "name": name,
        "method": method,
        "params": params,
        "steps": steps,
        **history,
        "final_tensors_file": file_name,
        "final_tensors": sorted(stored),
        "checksums": tensor_checksums(tensors),
        **float32_check,
    }


def divergence(reference: Dict[str, torch.Tensor], other: Dict[str, torch.Tensor]) -> float:
    return max(
        float((reference[name] - other[name].double()).abs().max() / reference[name].abs().max().clamp(min=1e-30))
        for name in reference
    )


def assert_lora_matches_merged_weights(case: str, adapter: Dict[str, torch.Tensor]) -> None:
    """The LoRA forward must equal a plain forward with W + scaling * B @ A merged into each target."""
    folder = os.path.join(GOLDEN_ROOT, case)
    lora_model = load_hf_model(folder, torch.float64)
    attach_lora(lora_model, adapter, LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    merged = load_hf_model(folder, torch.float64)
    with torch.no_grad():
        for layer_index, layer in enumerate(merged.model.layers):
            for path in lora_module_paths(LORA_TARGETS_ALL):
                parent_name, child_name = path.split(".")
                linear = getattr(getattr(layer, parent_name), child_name)
                lora_a = adapter[peft_key(layer_index, path, "lora_A")].double()
                lora_b = adapter[peft_key(layer_index, path, "lora_B")].double()
                linear.weight += (LORA_ALPHA / LORA_RANK) * lora_b @ lora_a
        batch = load_batch(case)
        difference = lora_model(batch["input_ids"], batch["attention_mask"]) - merged(
            batch["input_ids"], batch["attention_mask"]
        )
    if float(difference.abs().max()) > 1e-10:
        raise SystemExit(
            f"make_golden_training: {case}: LoRA forward differs from merged weights by {difference.abs().max()}"
        )


def make_case(case: str) -> None:
    spec = TRAIN_CASES[case]
    folder = os.path.join(GOLDEN_ROOT, f"train-{case}")
    recreate_folder(folder)
    base = load_hf_model(os.path.join(GOLDEN_ROOT, case), torch.float32)
    adapter = random_adapter(base, int(spec["seed"]))
    write_adapter(os.path.join(folder, "adapter"), case, adapter)
    assert_lora_matches_merged_weights(case, adapter)

    runs = []
    for run in spec["runs"]:
        history, final_loss, tensors = train(case, run, adapter, torch.float64)
        history32, _, tensors32 = train(case, run, adapter, torch.float32)
        file_name, stored = write_final_tensors(folder, run.name, run.method, tensors)
        record = {
            "name": run.name,
            "method": run.method,
            "loss": run.loss,
            "optimizer": run.optimizer,
            "steps": run.steps,
            **({"kl_weight": run.extra["kl_weight"]} if "kl_weight" in run.extra else {}),
            "losses": history["losses"],
            "grad_norms": history["grad_norms"],
            **{key: value for key, value in history.items() if key.endswith("_terms")},
            "final_loss": final_loss,
            "final_tensors_file": file_name,
            "final_tensors": sorted(stored),
            "checksums": tensor_checksums(tensors),
            "float32_divergence": {
                "loss_max_abs_diff": max(abs(a - b) for a, b in zip(history["losses"], history32["losses"])),
                "tensor_max_rel_diff": divergence(tensors, tensors32),
            },
        }
        runs.append(record)
        print(
            f"{case} {run.name}: losses {[round(value, 5) for value in history['losses']]} -> {final_loss:.5f}, "
            f"grad norms {[round(value, 4) for value in history['grad_norms']]}, "
            f"f32 loss diff {record['float32_divergence']['loss_max_abs_diff']:.1e}, "
            f"f32 tensor diff {record['float32_divergence']['tensor_max_rel_diff']:.1e}"
        )

    expected = {
        "case": case,
        "base_model": f"../{case}",
        "batch": f"../{case}/inputs.json",
        "adapter": "adapter",
        "lora": {
            "r": LORA_RANK,
            "lora_alpha": LORA_ALPHA,
            "scaling": LORA_ALPHA / LORA_RANK,
            "targets": list(LORA_TARGETS_ALL),
        },
        "reference_dtype": "float64 computed from the float32 weights",
        "conventions": (
            "Same batch every step. losses[k] and grad_norms[k] are measured before the k-th update; "
            "final_loss after the last one. grad_norms = sqrt(sum of squared gradients of all trainable "
            "tensors), no clipping. Loss = mean over all labelled tokens of the batch (HF shift, -100 "
            "ignored). dft token term = nll * stopgrad(p(label)); asft adds kl_weight * KL(p_base || p) per "
            "labelled token, p_base = base model (adapter off). AdamW/SGD as torch.optim with the listed "
            "settings, weight decay on every trainable tensor. LoRA: y = W x + (B (A x)) * lora_alpha / r."
        ),
        "runs": runs,
    }
    write_json(os.path.join(folder, "expected.json"), expected)
    size = sum(
        os.path.getsize(os.path.join(root, entry)) for root, _, entries in os.walk(folder) for entry in entries
    )
    print(f"wrote {folder}: {size} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", default=sorted(TRAIN_CASES), help=f"default: {sorted(TRAIN_CASES)}")
    args = parser.parse_args()
    for case in args.cases:
        if case not in TRAIN_CASES:
            raise SystemExit(f"make_golden_training: unknown case {case!r}; known: {sorted(TRAIN_CASES)}")
        make_case(case)


if __name__ == "__main__":
    main()
