"""Shared pieces of the PyTorch eager baselines: the SmolLM-135M-shaped model (or another shape's config), its
LoRA and AdamW, sampling with a KV cache, timing, FLOP counts, RSS."""

from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, "reference"))

from llama_ref import LORA_TARGETS_ALL, CausalLM, ModelConfig, attach_lora, lora_module_paths, peft_key  # noqa: E402

THREADS = 2

# SmolLM-135M's shape (HuggingFaceTB/SmolLM-135M config.json), random weights.
SMOLLM_135M = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "vocab_size": 49152,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
    "hidden_act": "silu",
}
# --quick keeps every code path but shrinks depth so a smoke run takes seconds.
QUICK_LAYERS = 2

# The training benchmarks' LoRA (all seven projections) and AdamW, as bench/train.ts sets ours.
LORA_RANK = 16
LORA_ALPHA = 32
ADAMW = {"lr": 1e-4, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01}


def setup_threads() -> None:
    torch.set_num_threads(THREADS)


def build_model(quick: bool, seed: int = 0, shape: Optional[Dict[str, object]] = None) -> CausalLM:
    """A model of `shape` (an HF config; default SmolLM-135M's) with random weights; `quick` keeps QUICK_LAYERS."""
    raw = dict(shape or SMOLLM_135M)
    if quick:
        raw["num_hidden_layers"] = QUICK_LAYERS
    model = CausalLM(ModelConfig.from_hf(raw, source="the bench model's shape"))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.fill_(1.0)
            else:
                # HF's initializer_range for SmolLM is 0.02.
                parameter.normal_(0.0, 0.02, generator=generator)
    return model


def random_adapter(model: CausalLM, rank: int, seed: int) -> Dict[str, torch.Tensor]:
    """PEFT-style init: A ~ Kaiming-uniform-like, B = 0 (training still computes every LoRA gradient)."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for layer_index, layer in enumerate(model.model.layers):
        for path in lora_module_paths(LORA_TARGETS_ALL):
            parent_name, child_name = path.split(".")
            out_features, in_features = getattr(getattr(layer, parent_name), child_name).weight.shape
            bound = 1.0 / math.sqrt(in_features)
            uniform = torch.rand(rank, in_features, generator=generator) * 2 - 1
            tensors[peft_key(layer_index, path, "lora_A")] = uniform * bound
            tensors[peft_key(layer_index, path, "lora_B")] = torch.zeros(out_features, rank)
    return tensors


def trainable_model(
    method: str, quick: bool, shape: Optional[Dict[str, object]] = None
) -> Tuple[CausalLM, List[torch.nn.Parameter], torch.optim.AdamW]:
    """The model in training mode with its trainable parameters and their AdamW: a LoRA (`lora`) or every weight."""
    model = build_model(quick, shape=shape)
    if method == "lora":
        attach_lora(model, random_adapter(model, LORA_RANK, seed=4), LORA_TARGETS_ALL, LORA_ALPHA / LORA_RANK)
    model.train()
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return model, parameters, torch.optim.AdamW(parameters, **ADAMW)


def sample_completions(model: CausalLM, prompt: Sequence[int], count: int, new_tokens: int, seed: int) -> torch.Tensor:
    """`count` completions of `prompt` sampled at temperature 1, batched, with a KV cache: (count, new_tokens).
    The prompt runs once and its cache is repeated `count` times; every new token runs as [count, 1]."""
    generator = torch.Generator().manual_seed(seed)
    tokens = []
    with torch.no_grad():
        cache = model.new_cache()
        logits = model(torch.tensor([list(prompt)]), cache=cache)[:, -1]
        for layer in cache:
            layer[0] = layer[0].repeat(count, 1, 1, 1)
            layer[1] = layer[1].repeat(count, 1, 1, 1)
        logits = logits.repeat(count, 1)
        for step in range(new_tokens):
            tokens.append(torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator))  # (count, 1)
            if step + 1 == new_tokens:
                break
            logits = model(tokens[-1], cache=cache)[:, -1]
    return torch.cat(tokens, dim=1)


def matmul_parameter_count(config: ModelConfig) -> int:
    """Weights that take part in a matmul per token (embedding lookup excluded, tied lm_head included)."""
    attention = config.hidden_size * config.head_dim * (2 * config.num_attention_heads + 2 * config.num_key_value_heads)
    mlp = 3 * config.hidden_size * config.intermediate_size
    return config.num_hidden_layers * (attention + mlp) + config.hidden_size * config.vocab_size


def forward_flops_per_token(config: ModelConfig, attended_keys: float) -> float:
    """2 FLOPs per matmul weight, plus q.k and p.v: 2 * 2 * attended_keys * heads * head_dim per layer."""
    attention_scores = 4.0 * attended_keys * config.num_attention_heads * config.head_dim
    return 2.0 * matmul_parameter_count(config) + config.num_hidden_layers * attention_scores


def time_runs(run: Callable[[], None], warmup: int, repeats: int) -> List[float]:
    for _ in range(warmup):
        run()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        durations.append(time.perf_counter() - start)
    return durations


def median(values: List[float]) -> float:
    return statistics.median(values)


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def matmul_peak_gflops(quick: bool) -> Dict[str, float]:
    """Best observed fp32 GEMM rate (size^3 matmuls, THREADS threads): the denominator for MFU."""
    size = 1024 if quick else 2048
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    durations = time_runs(lambda: torch.mm(a, b), warmup=1, repeats=3 if quick else 8)
    flops = 2.0 * size**3
    return {"size": size, "best_gflops": flops / min(durations) / 1e9, "median_gflops": flops / median(durations) / 1e9}


def machine_info() -> Dict[str, object]:
    cpu_model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", "r", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu_model": cpu_model,
        "logical_cpus": os.cpu_count(),
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


def model_summary(model: CausalLM, shape_name: str = "SmolLM-135M") -> Dict[str, object]:
    config = model.config
    return {
        "shape": shape_name,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "head_dim": config.head_dim,
        "vocab_size": config.vocab_size,
        "tie_word_embeddings": config.tie_word_embeddings,
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "matmul_parameters": matmul_parameter_count(config),
        "dtype": "float32",
        "weights": "random N(0, 0.02^2), norms 1",
    }
