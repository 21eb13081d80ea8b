"""Golden inference cases for tiny random-weight models -> test/fixtures/golden/<case>/.

Each case folder holds:
  config.json        the HF config, with exactly the keys transformers writes for that architecture
  model.safetensors  seeded random weights, F32, HF tensor names (tied models carry no lm_head.weight)
  inputs.json        a right-padded batch: input_ids, attention_mask, labels (-100 = not scored)
  expected.json      label log-probs, full log_softmax rows, per-row sums and counts, a greedy continuation

Reference values are computed in float64 from the float32 weights (the exact maths of the stored model);
`float32_max_abs_diff` says how far a float32 run of this reference lands from them.
"""

from __future__ import annotations

import argparse
import copy
import os
from typing import Dict, List

import torch

from golden_io import GOLDEN_ROOT, randomize_weights, right_padded_batch, write_json
from llama_ref import CausalLM, ModelConfig, greedy_generate, hf_state_dict, label_logprobs
from safetensors_io import write_safetensors

VOCAB = 96
STEPS = 20
ROW_LENGTHS = [20, 14, 9]
PROMPT_LENGTHS = [5, 3, 4]
GREEDY_PROMPT_LENGTH = 5
GREEDY_NEW_TOKENS = 8

LLAMA_BASE = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 80,
    "max_position_embeddings": 512,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.46.0",
    "use_cache": True,
    "vocab_size": VOCAB,
}

LLAMA3_ROPE_SCALED = {
    **LLAMA_BASE,
    "rope_theta": 500000.0,
    # original_max_position_embeddings is tiny on purpose: with head_dim 16 it puts frequency 0 in the
    # kept band, frequency 1 in the blended band and frequencies 2-7 in the divided band.
    "rope_scaling": {
        "factor": 8.0,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 64,
        "rope_type": "llama3",
    },
}

QWEN2_TIED = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 80,
    "max_position_embeddings": 512,
    "max_window_layers": 2,
    "model_type": "qwen2",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "sliding_window": 512,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.46.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": VOCAB,
}

QWEN3_QKNORM = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 80,
    "max_position_embeddings": 512,
    "max_window_layers": 2,
    "model_type": "qwen3",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": VOCAB,
}

CASES: Dict[str, Dict[str, object]] = {
    "llama-untied": {"config": LLAMA_BASE, "seed": 11},
    "llama3-rope-scaled": {"config": LLAMA3_ROPE_SCALED, "seed": 12},
    "qwen2-tied": {"config": QWEN2_TIED, "seed": 13},
    "qwen3-qknorm": {"config": QWEN3_QKNORM, "seed": 14},
}
# (row, position) pairs whose whole log_softmax row is recorded: a mid-sequence position and the last
# real token of the two padded rows.
FULL_ROWS = [(0, 7), (1, 13), (2, 8)]


def build_case_model(name: str) -> CausalLM:
    spec = CASES[name]
    model = CausalLM(ModelConfig.from_hf(copy.deepcopy(spec["config"]), source=f"case {name}"))
    randomize_weights(model, int(spec["seed"]))
    return model.eval()


def case_batch(name: str) -> Dict[str, List[List[int]]]:
    return right_padded_batch(ROW_LENGTHS, PROMPT_LENGTHS, STEPS, VOCAB, seed=1000 + int(CASES[name]["seed"]))


def score(model: CausalLM, batch: Dict[str, List[List[int]]]):
    input_ids = torch.tensor(batch["input_ids"])
    attention_mask = torch.tensor(batch["attention_mask"])
    labels = torch.tensor(batch["labels"])
    with torch.no_grad():
        logits = model(input_ids, attention_mask)
    logprobs, mask = label_logprobs(logits, labels)
    return logits, logprobs, mask


def assert_padding_is_inert(model: CausalLM, batch: Dict[str, List[List[int]]], logits: torch.Tensor) -> None:
    """Changing the ids under attention_mask = 0 must not move any logit at a real position."""
    scrambled = copy.deepcopy(batch)
    for row, mask_row in zip(scrambled["input_ids"], batch["attention_mask"]):
        for position, keep in enumerate(mask_row):
            if not keep:
                row[position] = (row[position] + 17) % VOCAB
    other_logits, _, _ = score(model, scrambled)
    real = torch.tensor(batch["attention_mask"]).bool()
    if not torch.allclose(logits[real], other_logits[real], atol=1e-12, rtol=0):
        raise SystemExit("make_golden_inference: padded input ids leak into real positions")


def assert_cache_matches_full_pass(model: CausalLM, batch: Dict[str, List[List[int]]], logits: torch.Tensor) -> None:
    """Prefill + one-token KV-cache steps over row 0 must reproduce the single full forward pass."""
    ids = torch.tensor(batch["input_ids"][:1])
    cache = model.new_cache()
    with torch.no_grad():
        pieces = [model(ids[:, :GREEDY_PROMPT_LENGTH], cache=cache)]
        for position in range(GREEDY_PROMPT_LENGTH, ids.shape[1]):
            pieces.append(model(ids[:, position : position + 1], cache=cache))
    if not torch.allclose(torch.cat(pieces, dim=1), logits[:1], atol=1e-10, rtol=0):
        raise SystemExit("make_golden_inference: KV-cache decoding disagrees with the full forward pass")


def make_case(name: str) -> None:
    folder = os.path.join(GOLDEN_ROOT, name)
    os.makedirs(folder, exist_ok=True)
    model = build_case_model(name)
    batch = case_batch(name)

    write_json(os.path.join(folder, "config.json"), CASES[name]["config"])
    write_safetensors(os.path.join(folder, "model.safetensors"), hf_state_dict(model), metadata={"format": "pt"})
    write_json(os.path.join(folder, "inputs.json"), {**batch, "pad_token_id": 0})

    model64 = copy.deepcopy(model).double()
    logits, logprobs, mask = score(model64, batch)
    assert_padding_is_inert(model64, batch, logits)
    assert_cache_matches_full_pass(model64, batch, logits)
    _, logprobs32, _ = score(model, batch)
    float32_diff = float((logprobs32.double() - logprobs).abs().max())

    log_softmax = torch.log_softmax(logits, dim=-1)
    prompt = batch["input_ids"][0][:GREEDY_PROMPT_LENGTH]
    greedy_ids = greedy_generate(model64, prompt, GREEDY_NEW_TOKENS)
    if greedy_generate(model, prompt, GREEDY_NEW_TOKENS) != greedy_ids:
        raise SystemExit(f"make_golden_inference: {name}: float32 and float64 greedy decoding differ")

    expected = {
        "case": name,
        "architecture": CASES[name]["config"]["architectures"][0],
        "reference_dtype": "float64 computed from the float32 weights",
        "float32_max_abs_diff": float32_diff,
        "conventions": (
            "label_logprobs[b][t] = log_softmax(logits[b][t-1])[labels[b][t]] where labels[b][t] != -100, "
            "else null (t = 0 is always null); sum_logprob and label_count are per row; mean_nll = "
            "-sum(all label logprobs) / number of labelled tokens. full_logprobs[i] is the whole "
            "log_softmax(logits[row][position]) vector, and logits the raw logits there."
        ),
        "label_logprobs": [
            [float(value) if keep else None for value, keep in zip(row_values, row_mask)]
            for row_values, row_mask in zip(logprobs.tolist(), mask.tolist())
        ],
        "sum_logprob": [float(value) for value in logprobs.sum(dim=1).tolist()],
        "label_count": [int(value) for value in mask.sum(dim=1).tolist()],
        "mean_nll": float(-logprobs.sum() / mask.sum()),
        "full_logprobs": [
            {
                "row": row,
                "position": position,
                "logprobs": log_softmax[row, position].tolist(),
                "logits": logits[row, position].tolist(),
            }
            for row, position in FULL_ROWS
        ],
        "greedy": {"prompt_ids": prompt, "new_ids": greedy_ids, "kv_cache": True},
    }
    write_json(os.path.join(folder, "expected.json"), expected)
    size = sum(os.path.getsize(os.path.join(folder, entry)) for entry in os.listdir(folder))
    print(f"wrote {folder}: {size} bytes, mean_nll {expected['mean_nll']:.6f}, float32 diff {float32_diff:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", default=sorted(CASES), help=f"cases to write (default: {sorted(CASES)})")
    args = parser.parse_args()
    for name in args.cases:
        if name not in CASES:
            raise SystemExit(f"make_golden_inference: unknown case {name!r}; known: {sorted(CASES)}")
        make_case(name)


if __name__ == "__main__":
    main()
