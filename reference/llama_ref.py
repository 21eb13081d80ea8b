"""Pure-PyTorch reference for the HF Llama family (Llama 1-3, Qwen2, Qwen3), written from the maths.

Module and parameter names follow the HF checkpoint layout (`model.layers.{i}.self_attn.q_proj.weight`,
...) so an HF folder (config.json + model.safetensors) loads with a plain name match.

Maths, per decoder layer (x: (B, T, hidden)):
    h   = x + o_proj(attention(rmsnorm(x)))
    out = h + down_proj(silu(gate_proj(rmsnorm(h))) * up_proj(rmsnorm(h)))
    rmsnorm(x) = weight * (x * rsqrt(mean(x^2, last dim) + eps))   (computed in >= float32, as HF)
Attention: q/k/v projections (bias on q/k/v for Qwen2, or wherever `attention_bias` says), optional
per-head RMSNorm over head_dim on q and k (Qwen3) before rotary embeddings in HF's rotate-half layout,
GQA (query head h reads key/value head h // (heads / kv_heads)), scores scaled by head_dim^-0.5, causal
mask plus key padding mask, softmax in >= float32.

Batches must be right-padded (attention_mask rows look like 1..1 0..0): positions are then simply
0..T-1 for every row, which is what HF uses in a training forward pass.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from safetensors_io import read_safetensors

SUPPORTED_ARCHITECTURES = {
    "LlamaForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
}
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_PROJECTIONS = ("gate_proj", "up_proj", "down_proj")
LORA_TARGETS_ALL = ATTENTION_PROJECTIONS + MLP_PROJECTIONS


@dataclass(frozen=True)
class ModelConfig:
    architecture: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    rope_scaling: Optional[Dict[str, float]]
    tie_word_embeddings: bool
    qkv_bias: bool
    o_proj_bias: bool
    mlp_bias: bool
    qk_norm: bool
    bos_token_id: Optional[int] = None
    eos_token_id: Optional[object] = None

    @staticmethod
    def from_hf(raw: Dict[str, object], source: str = "config.json") -> "ModelConfig":
        architectures = raw.get("architectures") or []
        architecture = architectures[0] if architectures else None
        if architecture not in SUPPORTED_ARCHITECTURES:
            raise ValueError(
                f"ModelConfig.from_hf: {source}: architectures {architectures!r} is not one of "
                f"{sorted(SUPPORTED_ARCHITECTURES)}"
            )
        family = SUPPORTED_ARCHITECTURES[architecture]
        if raw.get("hidden_act", "silu") != "silu":
            raise ValueError(f"ModelConfig.from_hf: {source}: hidden_act {raw.get('hidden_act')!r} is not 'silu'")
        if raw.get("use_sliding_window"):
            raise ValueError(f"ModelConfig.from_hf: {source}: use_sliding_window=true is not supported")

        heads = int(raw["num_attention_heads"])
        hidden = int(raw["hidden_size"])
        head_dim = raw.get("head_dim")
        # Newer transformers (v5) move rope_theta/rope_scaling into one `rope_parameters` object.
        rope_parameters = raw.get("rope_parameters")
        if isinstance(rope_parameters, dict):
            rope_theta = float(rope_parameters.get("rope_theta", raw.get("rope_theta", 10000.0)))
            rope_type = rope_parameters.get("rope_type", rope_parameters.get("type", "default"))
            rope_scaling = None if rope_type == "default" else dict(rope_parameters)
        else:
            rope_theta = float(raw.get("rope_theta", 10000.0))
            rope_scaling = raw.get("rope_scaling")
        attention_bias = bool(raw.get("attention_bias", False))
        return ModelConfig(
            architecture=architecture,
            vocab_size=int(raw["vocab_size"]),
            hidden_size=hidden,
            intermediate_size=int(raw["intermediate_size"]),
            num_hidden_layers=int(raw["num_hidden_layers"]),
            num_attention_heads=heads,
            num_key_value_heads=int(raw.get("num_key_value_heads") or heads),
            head_dim=int(head_dim) if head_dim else hidden // heads,
            rms_norm_eps=float(raw.get("rms_norm_eps", 1e-6)),
            rope_theta=rope_theta,
            rope_scaling=rope_scaling,
            # LlamaConfig, Qwen2Config and Qwen3Config all default tie_word_embeddings to False.
            tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
            # Qwen2Attention hard-codes bias on q/k/v (and none on o_proj); its config has no attention_bias.
            qkv_bias=True if family == "qwen2" else attention_bias,
            o_proj_bias=False if family == "qwen2" else attention_bias,
            mlp_bias=bool(raw.get("mlp_bias", False)) if family == "llama" else False,
            qk_norm=family == "qwen3",
            bos_token_id=raw.get("bos_token_id"),
            eos_token_id=raw.get("eos_token_id"),
        )


# ----------------------------------------------------------------------------------------------------
# Rotary embeddings


def rope_inverse_frequencies(config: ModelConfig) -> torch.Tensor:
    """inv_freq[i] = theta^(-2i/head_dim) for i < head_dim/2, then Llama-3 / linear scaling (float64)."""
    exponents = torch.arange(0, config.head_dim, 2, dtype=torch.float64) / config.head_dim
    inverse_frequencies = 1.0 / (config.rope_theta**exponents)
    scaling = config.rope_scaling
    if not scaling:
        return inverse_frequencies
    rope_type = scaling.get("rope_type", scaling.get("type", "default"))
    if rope_type == "default":
        return inverse_frequencies
    if rope_type == "linear":
        return inverse_frequencies / float(scaling["factor"])
    if rope_type == "llama3":
        return _llama3_scaled_frequencies(inverse_frequencies, scaling)
    raise ValueError(f"rope_inverse_frequencies: rope_type {rope_type!r} is not supported (default, linear, llama3)")


def _llama3_scaled_frequencies(inverse_frequencies: torch.Tensor, scaling: Dict[str, float]) -> torch.Tensor:
    # Llama 3.1: long wavelengths (beyond the original context / low_freq_factor) are slowed by `factor`,
    # short ones (below original context / high_freq_factor) are kept, and the band between is a linear
    # blend in "how many wavelengths fit into the original context".
    factor = float(scaling["factor"])
    low_freq_factor = float(scaling["low_freq_factor"])
    high_freq_factor = float(scaling["high_freq_factor"])
    original_context = float(scaling["original_max_position_embeddings"])
    wavelengths = 2.0 * math.pi / inverse_frequencies
    low_freq_wavelength = original_context / low_freq_factor
    high_freq_wavelength = original_context / high_freq_factor
    blend = (original_context / wavelengths - low_freq_factor) / (high_freq_factor - low_freq_factor)
    blended = (1.0 - blend) * inverse_frequencies / factor + blend * inverse_frequencies
    scaled = torch.where(wavelengths > low_freq_wavelength, inverse_frequencies / factor, blended)
    return torch.where(wavelengths < high_freq_wavelength, inverse_frequencies, scaled)


def rope_cos_sin(config: ModelConfig, positions: torch.Tensor, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables of shape (T, head_dim), both halves repeated (rotate-half layout)."""
    angles = positions.to(torch.float64)[:, None] * rope_inverse_frequencies(config)[None, :]  # (T, hd/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, hd)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x: (B, heads, T, hd); cos/sin: (T, hd) broadcast over batch and heads.
    return x * cos + rotate_half(x) * sin


# ----------------------------------------------------------------------------------------------------
# Layers


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # HF upcasts half-precision activations to float32 for the statistics, then casts back before
        # the weight multiply; float64 activations stay float64.
        compute_dtype = torch.promote_types(x.dtype, torch.float32)
        h = x.to(compute_dtype)
        h = h * torch.rsqrt(h.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


class LoraLinear(nn.Module):
    """y = W x + b + (B (A x)) * scaling, with W/b frozen; A: (r, in), B: (out, r) as in PEFT."""

    def __init__(self, base: nn.Linear, lora_a: torch.Tensor, lora_b: torch.Tensor, scaling: float):
        super().__init__()
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        self.lora_A = nn.Parameter(lora_a.clone().to(base.weight.dtype))
        self.lora_B = nn.Parameter(lora_b.clone().to(base.weight.dtype))
        self.scaling = scaling
        self.enabled = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.enabled:
            y = y + (x @ self.lora_A.t()) @ self.lora_B.t() * self.scaling
        return y


class Attention(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        heads, kv_heads, head_dim = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        if heads % kv_heads != 0:
            raise ValueError(
                f"Attention: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}"
            )
        self.q_proj = nn.Linear(config.hidden_size, heads * head_dim, bias=config.qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, kv_heads * head_dim, bias=config.qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, kv_heads * head_dim, bias=config.qkv_bias)
        self.o_proj = nn.Linear(heads * head_dim, config.hidden_size, bias=config.o_proj_bias)
        if config.qk_norm:
            self.q_norm = RMSNorm(head_dim, config.rms_norm_eps)
            self.k_norm = RMSNorm(head_dim, config.rms_norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        allowed: torch.Tensor,
        cache: Optional[List[torch.Tensor]],
    ) -> torch.Tensor:
        config = self.config
        batch, steps, _ = x.shape
        heads, kv_heads, head_dim = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        q = self.q_proj(x).view(batch, steps, heads, head_dim)  # (B, T, nh, hd)
        k = self.k_proj(x).view(batch, steps, kv_heads, head_dim)  # (B, T, nkv, hd)
        v = self.v_proj(x).view(batch, steps, kv_heads, head_dim)
        if config.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q = apply_rope(q.transpose(1, 2), cos, sin)  # (B, nh, T, hd)
        k = apply_rope(k.transpose(1, 2), cos, sin)  # (B, nkv, T, hd)
        v = v.transpose(1, 2)  # (B, nkv, T, hd)
        if cache is not None:
            if cache:
                k = torch.cat([cache[0], k], dim=2)  # (B, nkv, S, hd)
                v = torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        group = heads // kv_heads
        k = k.repeat_interleave(group, dim=1)  # (B, nh, S, hd)
        v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) * head_dim**-0.5  # (B, nh, T, S)
        # The finite minimum (not -inf) keeps a fully masked row (an all-padding row) free of NaN.
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        softmax_dtype = torch.promote_types(scores.dtype, torch.float32)
        probabilities = F.softmax(scores.to(softmax_dtype), dim=-1).to(q.dtype)
        out = (probabilities @ v).transpose(1, 2).reshape(batch, steps, heads * head_dim)  # (B, T, nh*hd)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=config.mlp_bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=config.mlp_bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=config.mlp_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin, allowed, cache):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, allowed, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class DecoderStack(nn.Module):
    """The HF `model.` prefix: embeddings, layers, final norm."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class CausalLM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.model = DecoderStack(config)
        if not config.tie_word_embeddings:
            self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def output_weight(self) -> torch.Tensor:
        return self.model.embed_tokens.weight if self.config.tie_word_embeddings else self.lm_head.weight

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        cache: Optional[List[List[torch.Tensor]]] = None,
    ) -> torch.Tensor:
        """Logits (B, T, vocab). With `cache` (one list per layer), appends this call's keys/values to it;
        `attention_mask` then covers past + current positions (B, S)."""
        batch, steps = input_ids.shape
        past = cache[0][0].shape[2] if cache and cache[0] else 0
        total = past + steps
        if attention_mask is None:
            attention_mask = torch.ones(batch, total, dtype=torch.long)
        if attention_mask.shape != (batch, total):
            raise ValueError(
                f"CausalLM.forward: attention_mask shape {tuple(attention_mask.shape)} != {(batch, total)}"
            )
        _require_right_padded(attention_mask)

        dtype = self.model.embed_tokens.weight.dtype
        positions = torch.arange(past, total)
        cos, sin = rope_cos_sin(self.config, positions, dtype)
        key_positions = torch.arange(total)
        allowed = (key_positions[None, :] <= positions[:, None])[None, None]  # (1, 1, T, S) causal
        allowed = allowed & attention_mask.bool()[:, None, None, :]  # (B, 1, T, S) + key padding

        x = self.model.embed_tokens(input_ids)  # (B, T, hidden)
        for index, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, allowed, cache[index] if cache is not None else None)
        x = self.model.norm(x)
        return x @ self.output_weight().t()  # (B, T, vocab)

    def new_cache(self) -> List[List[torch.Tensor]]:
        return [[] for _ in range(self.config.num_hidden_layers)]


def _require_right_padded(attention_mask: torch.Tensor) -> None:
    # Right padding means each row is non-increasing; anything else would need per-row positions.
    if bool((attention_mask[:, 1:] > attention_mask[:, :-1]).any()):
        raise ValueError("CausalLM.forward: attention_mask is not right-padded (a 0 is followed by a 1)")


# ----------------------------------------------------------------------------------------------------
# Loading


def read_config(folder: str) -> ModelConfig:
    path = os.path.join(folder, "config.json")
    with open(path, "r", encoding="utf-8") as handle:
        return ModelConfig.from_hf(json.load(handle), source=path)


def read_checkpoint_tensors(folder: str) -> Dict[str, torch.Tensor]:
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    index_path = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index_path):
        raise FileNotFoundError(f"read_checkpoint_tensors: {folder} has neither model.safetensors nor an index")
    with open(index_path, "r", encoding="utf-8") as handle:
        shard_names = sorted(set(json.load(handle)["weight_map"].values()))
    tensors: Dict[str, torch.Tensor] = {}
    for shard in shard_names:
        tensors.update(read_safetensors(os.path.join(folder, shard)))
    return tensors


def load_hf_model(folder: str, dtype: torch.dtype = torch.float32) -> CausalLM:
    config = read_config(folder)
    model = CausalLM(config)
    load_hf_state(model, read_checkpoint_tensors(folder), source=folder)
    return model.to(dtype).eval()


def load_hf_state(model: CausalLM, tensors: Dict[str, torch.Tensor], source: str) -> None:
    expected = dict(model.named_parameters())
    tensors = dict(tensors)
    if model.config.tie_word_embeddings:
        # Tied checkpoints may or may not carry a copy of the embedding as lm_head.weight.
        tensors.pop("lm_head.weight", None)
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"load_hf_state: {source}: missing tensors {missing[:5]}, unexpected tensors {unexpected[:5]}")
    with torch.no_grad():
        for name, parameter in expected.items():
            value = tensors[name]
            if tuple(value.shape) != tuple(parameter.shape):
                raise ValueError(
                    f"load_hf_state: {source}: tensor {name!r} has shape {tuple(value.shape)}, "
                    f"expected {tuple(parameter.shape)}"
                )
            parameter.copy_(value.to(parameter.dtype))


def hf_state_dict(model: CausalLM) -> Dict[str, torch.Tensor]:
    """Tensors under HF names (tied models omit lm_head.weight, as HF's save_pretrained does)."""
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


# ----------------------------------------------------------------------------------------------------
# LoRA (manual, PEFT naming)


def peft_key(layer: int, module_path: str, matrix: str) -> str:
    """PEFT adapter_model.safetensors key, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight."""
    return f"base_model.model.model.layers.{layer}.{module_path}.{matrix}.weight"


def lora_module_paths(targets: Sequence[str]) -> List[str]:
    paths = []
    for name in LORA_TARGETS_ALL:
        if name in targets:
            paths.append(f"self_attn.{name}" if name in ATTENTION_PROJECTIONS else f"mlp.{name}")
    unknown = sorted(set(targets) - set(LORA_TARGETS_ALL))
    if unknown:
        raise ValueError(f"lora_module_paths: target_modules {unknown} are not linear layers of a decoder layer")
    return paths


def attach_lora(model: CausalLM, adapter: Dict[str, torch.Tensor], targets: Sequence[str], scaling: float) -> None:
    """Freeze the model and wrap each target Linear with a LoraLinear initialised from `adapter` (PEFT keys)."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for layer_index, layer in enumerate(model.model.layers):
        for path in lora_module_paths(targets):
            parent_name, child_name = path.split(".")
            parent = getattr(layer, parent_name)
            lora_a = adapter[peft_key(layer_index, path, "lora_A")]
            lora_b = adapter[peft_key(layer_index, path, "lora_B")]
            setattr(parent, child_name, LoraLinear(getattr(parent, child_name), lora_a, lora_b, scaling))


def lora_modules(model: CausalLM) -> List[Tuple[str, LoraLinear]]:
    found = []
    for layer_index, layer in enumerate(model.model.layers):
        for parent_name in ("self_attn", "mlp"):
            for child_name, child in getattr(layer, parent_name).named_children():
                if isinstance(child, LoraLinear):
                    found.append((f"{layer_index}:{parent_name}.{child_name}", child))
    return found


def lora_state_dict(model: CausalLM) -> Dict[str, torch.Tensor]:
    tensors = {}
    for key, module in lora_modules(model):
        layer_index, path = key.split(":")
        tensors[peft_key(int(layer_index), path, "lora_A")] = module.lora_A.detach().clone()
        tensors[peft_key(int(layer_index), path, "lora_B")] = module.lora_B.detach().clone()
    return tensors


def set_lora_enabled(model: CausalLM, enabled: bool) -> None:
    for _, module in lora_modules(model):
        module.enabled = enabled


# ----------------------------------------------------------------------------------------------------
# Scoring and generation


def label_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """HF causal-LM convention: the label at t is predicted from the logits at t-1; -100 is ignored.
    Returns (logprobs (B, T) with 0 where ignored, mask (B, T) of labelled positions); column 0 never counts."""
    log_probabilities = F.log_softmax(logits[:, :-1].to(torch.promote_types(logits.dtype, torch.float32)), dim=-1)
    targets = labels[:, 1:]
    mask = targets != -100
    gathered = log_probabilities.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    batch = labels.shape[0]
    pad_column = torch.zeros(batch, 1, dtype=gathered.dtype)
    return torch.cat([pad_column, gathered], dim=1), torch.cat([torch.zeros(batch, 1, dtype=torch.bool), mask], dim=1)


@torch.no_grad()
def greedy_generate(model: CausalLM, prompt_ids: Sequence[int], max_new_tokens: int) -> List[int]:
    """Batch-1 greedy decoding with a KV cache; never stops early (callers truncate at EOS if they want)."""
    cache = model.new_cache()
    logits = model(torch.tensor([list(prompt_ids)]), cache=cache)
    generated: List[int] = []
    for _ in range(max_new_tokens):
        next_id = int(logits[0, -1].argmax())
        generated.append(next_id)
        if len(generated) == max_new_tokens:
            break
        logits = model(torch.tensor([[next_id]]), cache=cache)
    return generated


# ----------------------------------------------------------------------------------------------------
# Tokenizer decoding (sentencepiece-style BPE with byte fallback, as in stories260K's tokenizer.json)


class PieceDecoder:
    """Decodes ids the way the tokenizer.json decoder chain does: "▁" -> " ", `<0xNN>` pieces -> raw
    bytes, join, then strip one leading space. Special tokens are skipped."""

    def __init__(self, tokenizer_json_path: str):
        with open(tokenizer_json_path, "r", encoding="utf-8") as handle:
            tokenizer = json.load(handle)
        self.piece_by_id = {index: piece for piece, index in tokenizer["model"]["vocab"].items()}
        self.special_ids = {entry["id"] for entry in tokenizer.get("added_tokens", []) if entry.get("special")}

    def decode(self, ids: Sequence[int]) -> str:
        raw = bytearray()
        for token_id in ids:
            if token_id in self.special_ids:
                continue
            piece = self.piece_by_id[token_id]
            if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
                raw.append(int(piece[3:5], 16))
            else:
                raw.extend(piece.replace("\u2581", " ").encode("utf-8"))
        text = raw.decode("utf-8", errors="replace")
        return text[1:] if text.startswith(" ") else text
