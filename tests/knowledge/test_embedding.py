from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from bot.knowledge import embedding, safetensors


def _st(tensors: dict[str, np.ndarray], *, dtype_names: dict[str, str]) -> bytes:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, arr in tensors.items():
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype_names[name], "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def test_safetensors_roundtrip() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([1, -2, 3], dtype=np.int64)
    got = safetensors.load_bytes(_st({"a": a, "b": b}, dtype_names={"a": "F32", "b": "I64"}))
    assert set(got) == {"a", "b"}
    np.testing.assert_array_equal(got["a"], a)
    np.testing.assert_array_equal(got["b"], b)
    assert got["a"].dtype == np.float32 and got["b"].shape == (3,)


def test_safetensors_rejects_bad_offsets() -> None:
    a = np.zeros(4, dtype=np.float32)
    raw = bytearray(_st({"a": a}, dtype_names={"a": "F32"}))
    with pytest.raises(safetensors.SafetensorsError, match="offsets"):
        safetensors.load_bytes(bytes(raw[:-4]), source="x.safetensors")
    with pytest.raises(safetensors.SafetensorsError, match="too short"):
        safetensors.load_bytes(b"\x01\x00", source="x.safetensors")


def test_model_file_parses() -> None:
    t = safetensors.load_file(embedding.model_dir() / "model.safetensors")
    assert t["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert t["encoder.layer.5.output.dense.weight"].shape == (384, 1536)


def test_shape_and_normalisation() -> None:
    v = embedding.embed(["disk full on the database host", "", "x " * 1000])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_reference_values() -> None:
    # sentence-transformers' model.encode(["This is an example sentence"]) for all-MiniLM-L6-v2.
    v = embedding.embed(["This is an example sentence"])[0]
    ref = [0.06765693, 0.06349596, 0.04871315, 0.07930496, 0.03744807, 0.00265278, 0.03937497, -0.00709843]
    np.testing.assert_allclose(v[:8], ref, atol=2e-5)


def test_batching_does_not_change_results() -> None:
    texts = ["short", "a much longer sentence about redis memory and evictions", "node NotReady"]
    together = embedding.embed(texts)
    alone = np.stack([embedding.embed([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_similarity_ordering() -> None:
    a, para, other = embedding.embed(
        [
            "The database ran out of connections",
            "Postgres refuses new clients: too many connections are open",
            "The cat sat on the mat in the sunshine",
        ]
    )
    assert float(a @ para) > 0.3
    assert float(a @ other) < 0.1
    assert float(a @ para) > float(a @ other) + 0.25


def test_chroma_embedding_function_contract() -> None:
    ef = embedding.MiniLMEmbedding()
    out = ef(["hello world", "goodbye"])
    assert len(out) == 2 and len(out[0]) == 384
    assert embedding.MiniLMEmbedding.name() == "aisre-minilm-l6-v2"
    again = embedding.MiniLMEmbedding.build_from_config(ef.get_config())
    assert again.get_config() == ef.get_config()
    assert not ef.is_legacy()
    assert ef.default_space() == "cosine"


def test_one_query_text_is_embedded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ef = embedding.MiniLMEmbedding()
    model = embedding.get_model()
    calls: list[list[str]] = []
    encode = model.encode

    def counting(texts: list[str], *a: object, **k: object) -> np.ndarray:
        calls.append(list(texts))
        return encode(texts)

    monkeypatch.setattr(model, "encode", counting)
    monkeypatch.setattr(embedding, "_query_cache", embedding.OrderedDict())
    first = ef(["checkout error rate high after deploy"])
    second = ef(["checkout error rate high after deploy"])
    assert calls == [["checkout error rate high after deploy"]]  # the second search hit the cache
    assert np.array_equal(first[0], second[0])
    assert np.allclose(first[0], encode(["checkout error rate high after deploy"])[0])
    ef(["a", "b"])  # documents (a batch) are never cached
    ef(["a", "b"])
    assert calls[1:] == [["a", "b"], ["a", "b"]]
    for i in range(embedding._QUERY_CACHE_SIZE + 5):  # bounded: the oldest text goes first
        ef([f"query {i}"])
    assert len(embedding._query_cache) == embedding._QUERY_CACHE_SIZE
    assert "checkout error rate high after deploy" not in embedding._query_cache
