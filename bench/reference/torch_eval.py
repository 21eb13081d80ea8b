"""PyTorch eager multiple-choice baseline on a SmolLM-135M-shaped Llama (random weights), fp32, 2 threads.

Scores ARC-style items the way lm-evaluation-harness scores a multiple_choice task with a causal
model: every (context, choice) pair is a separate request; requests are sorted longest first and
run in batches of BATCH_SIZE rows, each row (context + choice)[:-1] right-padded with 0 to the
batch's longest; log_softmax over the whole logits; per request, the choice's slice gives the summed
log-probability and whether every choice token is the argmax (is_greedy).

Items have the same lengths as bench/eval.ts builds (item_lengths below, the same formula); token
ids are random (fixed seed) on both sides, which does not change the work. Prints one JSON object.

    /usr/bin/python3 bench/reference/torch_eval.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import List, Tuple

import torch
import torch.nn.functional as F

from torch_common import build_model, machine_info, median, model_summary, peak_rss_mib, setup_threads, time_runs

# lm-eval's --batch_size: rows per forward pass.
BATCH_SIZE = 16
CHOICES = 4


def item_lengths(index: int) -> Tuple[int, List[int]]:
    """Context of 56..64 tokens (mean 60), choices of 6..10 (mean 8); bench/eval.ts uses the same formula."""
    return 56 + (5 * index) % 9, [6 + (index + 3 * j) % 5 for j in range(CHOICES)]


def build_requests(items: int, vocab_size: int) -> List[Tuple[List[int], List[int]]]:
    generator = torch.Generator().manual_seed(5)

    def ids(count: int) -> List[int]:
        return torch.randint(0, vocab_size, (count,), generator=generator).tolist()

    requests = []
    for index in range(items):
        context_length, choice_lengths = item_lengths(index)
        context = ids(context_length)
        requests.extend((context, ids(length)) for length in choice_lengths)
    return requests


@torch.no_grad()
def score_requests(model, requests: List[Tuple[List[int], List[int]]]) -> List[Tuple[float, bool]]:
    order = sorted(range(len(requests)), key=lambda i: -(len(requests[i][0]) + len(requests[i][1])))
    results: List[Tuple[float, bool]] = [(0.0, False)] * len(requests)
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        inputs = [(requests[i][0] + requests[i][1])[:-1] for i in batch]
        longest = max(len(row) for row in inputs)
        padded = torch.zeros(len(batch), longest, dtype=torch.long)
        for row, tokens in enumerate(inputs):
            padded[row, : len(tokens)] = torch.tensor(tokens)
        log_probabilities = F.log_softmax(model(padded), dim=-1)  # (batch, longest, vocab)
        for row, request in enumerate(batch):
            choice = torch.tensor(requests[request][1])
            length = len(inputs[row])
            selected = log_probabilities[row, length - len(choice) : length]  # (choice, vocab)
            greedy = bool((selected.argmax(dim=-1) == choice).all())
            logprob = float(selected.gather(-1, choice.unsqueeze(-1)).sum())
            results[request] = (logprob, greedy)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 layers, 8 items, 1 repeat: a smoke run")
    args = parser.parse_args()
    setup_threads()
    started = time.time()

    model = build_model(args.quick).eval()
    items = 8 if args.quick else 32
    requests = build_requests(items, model.config.vocab_size)
    repeats = 1 if args.quick else 3
    warmup = requests[: BATCH_SIZE]
    score_requests(model, warmup)
    durations = time_runs(lambda: score_requests(model, requests), warmup=0, repeats=repeats)
    seconds = median(durations)

    report = {
        "bench": "torch_eval",
        "quick": args.quick,
        "machine": machine_info(),
        "model": model_summary(model),
        "items": items,
        "choices_per_item": CHOICES,
        "batch_size": BATCH_SIZE,
        "tokens_fed": sum(len(context) + len(choice) - 1 for context, choice in requests),
        "repeats": repeats,
        "seconds_median": seconds,
        "seconds_all": durations,
        "items_per_s": items / seconds,
        "items_per_s_best": items / min(durations),
        "peak_rss_mib": peak_rss_mib(),
        "notes": (
            "lm-eval's loglikelihood path for a causal model: one request per (context, choice), sorted "
            "longest first, batches of batch_size right-padded rows of (context + choice)[:-1], log_softmax "
            "over all positions. Timings are medians after a warm-up batch (*_best: the fastest run)."
        ),
        "wall_seconds": time.time() - started,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
