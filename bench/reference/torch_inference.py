"""PyTorch eager inference baseline on a SmolLM-135M-shaped Llama (random weights), fp32, 2 threads.

  scoring:    batch 4 x seq 256 forward + log_softmax + gather of the next-token log-probs
  generation: batch 1, 32-token prompt, 128 greedy new tokens with a KV cache
  generation_1_thread: the same with torch.set_num_threads(1) — decoding runs thousands of tiny ops
    per token, and on a busy shared machine every 2-thread op can wait for a descheduled worker
plus the machine's measured fp32 GEMM peak for MFU. Prints one JSON object on stdout.

    /usr/bin/python3 bench/reference/torch_inference.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from torch_common import (
    build_model,
    forward_flops_per_token,
    machine_info,
    matmul_peak_gflops,
    median,
    model_summary,
    peak_rss_mib,
    setup_threads,
    time_runs,
)
from llama_ref import greedy_generate  # noqa: E402  (torch_common puts reference/ on sys.path)


def bench_scoring(model, batch: int, steps: int, repeats: int, peak_gflops: float):
    generator = torch.Generator().manual_seed(2)
    input_ids = torch.randint(0, model.config.vocab_size, (batch, steps), generator=generator)

    def score() -> None:
        with torch.no_grad():
            logits = model(input_ids)
            log_probabilities = torch.log_softmax(logits[:, :-1], dim=-1)
            log_probabilities.gather(-1, input_ids[:, 1:].unsqueeze(-1))

    durations = time_runs(score, warmup=1, repeats=repeats)
    seconds = median(durations)
    tokens = batch * steps
    # The eager mask is dense: every query computes scores against all `steps` keys.
    flops = tokens * forward_flops_per_token(model.config, attended_keys=steps)
    return {
        "batch": batch,
        "seq": steps,
        "repeats": repeats,
        "seconds_median": seconds,
        "seconds_all": durations,
        "tokens_per_s": tokens / seconds,
        "tokens_per_s_best": tokens / min(durations),
        "gflops_per_s": flops / seconds / 1e9,
        "mfu": flops / seconds / 1e9 / peak_gflops,
        "peak_rss_mib_after": peak_rss_mib(),
    }


def bench_generation(model, prompt_length: int, new_tokens: int, repeats: int, peak_gflops: float):
    generator = torch.Generator().manual_seed(3)
    prompt = torch.randint(0, model.config.vocab_size, (prompt_length,), generator=generator).tolist()

    def prefill() -> None:
        with torch.no_grad():
            model(torch.tensor([prompt]), cache=model.new_cache())

    def generate() -> None:
        greedy_generate(model, prompt, new_tokens)

    prefill_seconds = median(time_runs(prefill, warmup=1, repeats=repeats))
    durations = time_runs(generate, warmup=1, repeats=repeats)
    total_seconds = median(durations)
    decode_seconds = max(total_seconds - prefill_seconds, 1e-9)
    # Decode step k attends to prompt_length + k keys; average over the steps that run after prefill.
    average_keys = prompt_length + (new_tokens - 1) / 2.0
    decode_flops = (new_tokens - 1) * forward_flops_per_token(model.config, attended_keys=average_keys)
    return {
        "batch": 1,
        "prompt_tokens": prompt_length,
        "new_tokens": new_tokens,
        "repeats": repeats,
        "kv_cache": True,
        "seconds_median": total_seconds,
        "seconds_all": durations,
        "prefill_seconds": prefill_seconds,
        "tokens_per_s": new_tokens / total_seconds,
        "tokens_per_s_best": new_tokens / min(durations),
        "decode_tokens_per_s": (new_tokens - 1) / decode_seconds,
        "decode_gflops_per_s": decode_flops / decode_seconds / 1e9,
        "decode_mfu": decode_flops / decode_seconds / 1e9 / peak_gflops,
        "peak_rss_mib_after": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 layers, short sequences, 1 repeat: a smoke run")
    args = parser.parse_args()
    setup_threads()
    started = time.time()

    peak = matmul_peak_gflops(args.quick)
    model = build_model(args.quick).eval()
    rss_after_load = peak_rss_mib()
    repeats = 1 if args.quick else 3
    scoring = bench_scoring(model, 4, 64 if args.quick else 256, repeats, peak["best_gflops"])
    new_tokens = 16 if args.quick else 128
    generation = bench_generation(model, 32, new_tokens, repeats, peak["best_gflops"])
    torch.set_num_threads(1)
    generation_1_thread = bench_generation(model, 32, new_tokens, repeats, peak["best_gflops"])
    setup_threads()

    report = {
        "bench": "torch_inference",
        "quick": args.quick,
        "machine": machine_info(),
        "model": model_summary(model),
        "matmul_peak": peak,
        "scoring": scoring,
        "generation": generation,
        "generation_1_thread": generation_1_thread,
        "peak_rss_mib_after_load": rss_after_load,
        "peak_rss_mib": peak_rss_mib(),
        "notes": (
            "Timings are medians after one warm-up run (*_best: the fastest run; the machine is shared). "
            "tokens_per_s for scoring counts batch*seq input tokens; generation tokens_per_s = new tokens / "
            "(prefill + decode), decode_tokens_per_s excludes prefill. FLOPs = 2 per matmul weight per token "
            "+ 4*keys*heads*head_dim per layer (dense mask); mfu = achieved GFLOP/s / matmul_peak.best_gflops."
        ),
        "wall_seconds": time.time() - started,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
