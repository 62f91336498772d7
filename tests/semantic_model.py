"""A tiny sentence-embedding model in the sentence-transformers ONNX layout, built for the tests with the real
onnx and tokenizers libraries: a word-level tokenizer over a small vocabulary and a graph whose token states are
rows of an embedding table (``Gather``), so that every vector the encoder returns can be computed by hand.

``CONCEPTS`` gives each word a direction: words of one concept (``sign``, ``seal``, ``agreement``, ``pact``) share
it, so a paraphrase in other words has cosine near 1 with its claim and an unrelated story near 0. The pad token's
row is large and points elsewhere: a pooling that counted padding would show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

PAD, UNK = "[PAD]", "[UNK]"
CONCEPTS = {
    0: ["acme", "globex", "firms", "companies", "both"],
    1: ["sign", "signs", "signed", "seal", "seals", "sealed", "agreement", "pact", "deal", "merger", "union"],
    2: ["rain", "weather", "storm", "north", "forecast"],
    3: ["football", "match", "cup", "goal", "final"],
}
FILLER = ["the", "a", "on", "their", "will", "of", "and", "in"]
DIM = 6  # 4 concept axes, one for fillers, one for padding


def vocabulary() -> list[str]:
    words = [PAD, UNK, *FILLER]
    for members in CONCEPTS.values():
        words += members
    return words


def embedding_table() -> np.ndarray:
    words = vocabulary()
    table = np.zeros((len(words), DIM), dtype=np.float32)
    table[words.index(PAD), 5] = 50.0
    table[words.index(UNK), 4] = 0.5
    for word in FILLER:
        table[words.index(word), 4] = 0.2
    for axis, members in CONCEPTS.items():
        for n, word in enumerate(members):
            table[words.index(word), axis] = 1.0 + 0.01 * n  # nearly, not exactly, equal: order shows
    return table


def build(folder: Path, *, with_token_types: bool = True) -> Path:
    """Write ``model.onnx`` and ``tokenizer.json`` into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    words = vocabulary()
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=UNK))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.enable_padding(pad_id=0, pad_token=PAD, length=16)  # a fixed length, as shipped models have
    tokenizer.save(str(folder / "tokenizer.json"))

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])]
    if with_token_types:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "tokens"]))
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"], axis=0)],
        "tiny-sentence-encoder", inputs,
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", DIM])],
        initializer=[numpy_helper.from_array(embedding_table(), "table")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by every onnxruntime the extra allows
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def expected_vector(text: str, max_tokens: int = 128) -> np.ndarray:
    """The vector by hand: the mean of the text's rows of the table (no padding), L2-normalised."""
    words = vocabulary()
    table = embedding_table()
    ids = [words.index(w) if w in words else words.index(UNK) for w in text.lower().split()][:max_tokens]
    mean = table[ids].mean(axis=0)
    return mean / np.linalg.norm(mean)
