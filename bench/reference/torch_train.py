"""PyTorch eager training baseline on a SmolLM-135M-shaped Llama (or --config's shape; random weights), fp32,
2 threads.

  lora: r 16, alpha 32, on q,k,v,o,gate,up,down (manual LoRA, base frozen), torch.optim.AdamW
  full: every parameter trainable, torch.optim.AdamW
One step = forward + mean-NLL loss over all tokens + backward + optimizer step, batch 4 x seq 256.
grpo: the lora setting trained by GRPO on its own samples (torch_grpo.py): rollout and training tokens/s.
Each method runs in a fresh child process so its peak RSS is its own.
Prints one JSON object on stdout.

    /usr/bin/python3 bench/reference/torch_train.py [--quick] [--only lora|full|grpo]
        [--config model/config.json --seq N --warmup N --repeats N]

--config trains that HF config's shape instead (lora or full, with --only; bench/scale.ts uses it): the
config's folder names the shape in the report. --seq/--warmup/--repeats override the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Dict, Optional

import torch
import torch.nn.functional as F

from torch_common import (
    ADAMW,
    LORA_ALPHA,
    LORA_RANK,
    forward_flops_per_token,
    machine_info,
    matmul_peak_gflops,
    median,
    model_summary,
    peak_rss_mib,
    setup_threads,
    time_runs,
    trainable_model,
)
from llama_ref import LORA_TARGETS_ALL  # noqa: E402  (torch_common puts reference/ on sys.path)
from torch_grpo import bench_grpo

METHODS = ("lora", "full", "grpo")


def bench_training(
    method: str,
    quick: bool,
    batch: int,
    steps: int,
    warmup: int,
    repeats: int,
    peak_gflops: float,
    shape: Optional[Dict[str, object]] = None,
    shape_name: str = "SmolLM-135M",
):
    model, parameters, optimizer = trainable_model(method, quick, shape)
    generator = torch.Generator().manual_seed(5)
    input_ids = torch.randint(0, model.config.vocab_size, (batch, steps), generator=generator)
    losses = []

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        logits = model(input_ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), input_ids[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(float(loss))

    durations = time_runs(train_step, warmup=warmup, repeats=repeats)
    seconds = median(durations)
    tokens = batch * steps
    forward_flops = tokens * forward_flops_per_token(model.config, attended_keys=steps)
    # Backward costs 2x forward when weight gradients are needed (full), ~1x when only activation
    # gradients flow through frozen weights (LoRA; its own small matmuls are ignored).
    step_flops = forward_flops * (3.0 if method == "full" else 2.0)
    trainable = sum(parameter.numel() for parameter in parameters)
    return {
        "method": method,
        "batch": batch,
        "seq": steps,
        "warmup": warmup,
        "repeats": repeats,
        "optimizer": {"type": "adamw", **ADAMW},
        "lora": {"r": LORA_RANK, "alpha": LORA_ALPHA, "targets": list(LORA_TARGETS_ALL)} if method == "lora" else None,
        "trainable_parameters": trainable,
        "seconds_per_step_median": seconds,
        "seconds_all": durations,
        "tokens_per_s": tokens / seconds,
        "tokens_per_s_best": tokens / min(durations),
        "flops_per_step": step_flops,
        "gflops_per_s": step_flops / seconds / 1e9,
        "mfu": step_flops / seconds / 1e9 / peak_gflops,
        "losses": losses,
        "peak_rss_mib_after": peak_rss_mib(),
    }, model_summary(model, shape_name)


def run_method_in_child(method: str, quick: bool, peak_gflops: float) -> Dict[str, object]:
    """Each method in a fresh interpreter, so ru_maxrss is that method's own peak."""
    command = [sys.executable, os.path.abspath(__file__), "--only", method, "--peak-gflops", str(peak_gflops)]
    if quick:
        command.append("--quick")
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 layers, seq 64, 1 measured step: a smoke run")
    parser.add_argument("--only", choices=METHODS, help="run one method only, in this process")
    parser.add_argument("--peak-gflops", type=float, help="reuse a GEMM peak measured by the parent run")
    parser.add_argument("--config", help="an HF config.json whose shape to train (with --only lora or full)")
    parser.add_argument("--seq", type=int, help="tokens per row (default 256, 64 with --quick)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    parser.add_argument("--repeats", type=int, help="timed steps (default 3, 1 with --quick)")
    args = parser.parse_args()
    if args.config and args.only not in ("lora", "full"):
        parser.error("--config needs --only lora or --only full")
    setup_threads()
    started = time.time()

    if args.peak_gflops:
        peak = {"size": None, "best_gflops": args.peak_gflops, "median_gflops": None, "measured_by": "parent"}
    else:
        peak = matmul_peak_gflops(args.quick)
    steps = args.seq or (64 if args.quick else 256)
    repeats = args.repeats or (1 if args.quick else 3)
    if args.only == "grpo":
        result, summary = bench_grpo(args.quick, repeats)
        results = {args.only: result}
    elif args.only:
        shape, shape_name = None, "SmolLM-135M"
        if args.config:
            with open(args.config, "r", encoding="utf-8") as handle:
                shape = json.load(handle)
            shape_name = os.path.basename(os.path.dirname(os.path.abspath(args.config)))
        result, summary = bench_training(
            args.only, args.quick, 4, steps, args.warmup, repeats, peak["best_gflops"], shape, shape_name
        )
        results = {args.only: result}
    else:
        children = {method: run_method_in_child(method, args.quick, peak["best_gflops"]) for method in METHODS}
        results = {method: child[method] for method, child in children.items()}
        summary = children["full"]["model"]

    report = {
        "bench": "torch_train",
        "quick": args.quick,
        "machine": machine_info(),
        "model": summary,
        "matmul_peak": peak,
        **results,
        "notes": (
            "Timings are medians after --warmup steps, default 1 (tokens_per_s_best: the fastest step; the machine is "
            "shared). tokens_per_s = batch*seq / seconds per step. "
            "FLOPs/step = forward FLOPs x 3 (full) or x 2 (LoRA); forward FLOPs = 2 per matmul weight per "
            "token + 4*seq*heads*head_dim per layer. mfu = achieved GFLOP/s / matmul_peak.best_gflops. "
            "Each method runs in its own process; peak_rss_mib_after is that process's ru_maxrss."
        ),
        "wall_seconds": time.time() - started,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
