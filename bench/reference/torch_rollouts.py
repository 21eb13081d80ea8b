"""PyTorch eager rollout baseline for GRPO: G sampled completions of one prompt, batched, with a KV
cache, on a SmolLM-135M-shaped Llama (random weights) with a LoRA (r 16 on q_proj and v_proj, B
non-zero) in the loop, fp32, 2 threads. The prompt runs once and its cache is repeated G times; every
new token runs as [G, 1]; tokens are sampled from the softmax at temperature 1. Prints one JSON
object on stdout.

    /usr/bin/python3 bench/reference/torch_rollouts.py [--quick]
"""

from __future__ import annotations

import argparse
import json

import torch

from torch_common import (
    build_model,
    machine_info,
    median,
    model_summary,
    peak_rss_mib,
    sample_completions,
    setup_threads,
    time_runs,
)
from llama_ref import attach_lora, lora_module_paths, peft_key  # noqa: E402  (torch_common puts reference/ on sys.path)

RANK = 16
TARGETS = ("q_proj", "v_proj")


def add_lora(model) -> None:
    config = model.config
    generator = torch.Generator().manual_seed(5)
    adapter = {}
    for layer in range(config.num_hidden_layers):
        for path in lora_module_paths(TARGETS):
            base = getattr(getattr(model.model.layers[layer], path.split(".")[0]), path.split(".")[1])
            adapter[peft_key(layer, path, "lora_A")] = torch.randn(RANK, base.in_features, generator=generator) * 0.01
            adapter[peft_key(layer, path, "lora_B")] = torch.randn(base.out_features, RANK, generator=generator) * 0.01
    attach_lora(model, adapter, TARGETS, 2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 layers, 1 repeat: a smoke run")
    args = parser.parse_args()
    setup_threads()
    model = build_model(args.quick).eval()
    add_lora(model)
    prompt = torch.randint(0, model.config.vocab_size, (64,), generator=torch.Generator().manual_seed(3)).tolist()
    new_tokens = 16 if args.quick else 64
    repeats = 1 if args.quick else 3
    results = []
    for count in (1, 8):
        generate = lambda: sample_completions(model, prompt, count, new_tokens, seed=7)  # noqa: E731
        durations = time_runs(generate, warmup=1, repeats=repeats)
        seconds = median(durations)
        results.append({"count": count, "seconds_median": seconds, "tokens_per_s": count * new_tokens / seconds})
    print(
        json.dumps(
            {
                "bench": "torch_rollouts",
                "quick": args.quick,
                "machine": machine_info(),
                "model": model_summary(model),
                "prompt_tokens": len(prompt),
                "new_tokens": new_tokens,
                "lora": {"r": RANK, "targets": list(TARGETS)},
                "rollouts": results,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


if __name__ == "__main__":
    main()
