"""Golden greedy decoding of the real stories260K checkpoint -> test/fixtures/golden/stories260K-greedy.json.

Greedy from BOS (id 1) for 199 new tokens (llama2.c's `run.c` default of 200 positions including BOS),
with a KV cache, in float32 as the checkpoint is stored. Cross-checks before writing:
  * the text starts with the sentence llama2.c prints for this checkpoint;
  * one cache-free forward pass over [BOS] + new_ids[:-1] picks the same argmax at every step;
  * a float64 run decodes the same ids (so the golden ids are not a float32 rounding accident).
"""

from __future__ import annotations

import argparse
import os

import torch

from golden_io import GOLDEN_ROOT, REPO_ROOT, write_json
from llama_ref import PieceDecoder, greedy_generate, label_logprobs, load_hf_model

# The checkpoint lives in the shared folder beside the repository (shared/models/stories260K).
DEFAULT_MODEL = os.path.join(os.path.dirname(REPO_ROOT), "shared", "models", "stories260K")
DEFAULT_OUTPUT = os.path.join(GOLDEN_ROOT, "stories260K-greedy.json")
EXPECTED_PREFIX = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
BOS_ID = 1
NEW_TOKENS = 199


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="HF folder of stories260K")
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    model = load_hf_model(args.model, torch.float32)
    new_ids = greedy_generate(model, [BOS_ID], NEW_TOKENS)
    text = PieceDecoder(os.path.join(args.model, "tokenizer.json")).decode(new_ids)
    if not text.startswith(EXPECTED_PREFIX):
        raise SystemExit(f"make_golden_stories260k: decoded text does not start with the known output: {text[:120]!r}")

    sequence = torch.tensor([[BOS_ID] + new_ids])
    with torch.no_grad():
        full_logits = model(sequence[:, :-1])
    if full_logits[0].argmax(-1).tolist() != new_ids:
        raise SystemExit("make_golden_stories260k: cache-free forward disagrees with KV-cache decoding")

    model64 = load_hf_model(args.model, torch.float64)
    if greedy_generate(model64, [BOS_ID], NEW_TOKENS) != new_ids:
        raise SystemExit("make_golden_stories260k: float64 decoding differs from float32 decoding")
    with torch.no_grad():
        logits64 = model64(sequence)
    token_logprobs, _ = label_logprobs(logits64, sequence)

    golden = {
        "model": "shared/models/stories260K",
        "settings": {"decoding": "greedy", "kv_cache": True, "dtype": "float32", "stop_at_eos": False},
        "prompt_ids": [BOS_ID],
        "new_ids": new_ids,
        "text": text,
        # log p(new_ids[i] | BOS, new_ids[:i]) computed in float64: a numeric check beyond the argmax.
        "new_token_logprobs": token_logprobs[0, 1:].tolist(),
    }
    write_json(args.output, golden)
    print(f"wrote {args.output}: {len(new_ids)} ids, text starts {text[:60]!r}")


if __name__ == "__main__":
    main()
