"""Text to unit vectors with a sentence-embedding ONNX model: the sentence-transformers recipe (the model's token
states, mean-pooled over the attention mask, then L2-normalised), in batches, with a bounded cache.

Texts are cut at ``max_tokens`` tokens (128: the length the shipped models were trained at; a headline and its
summary's first sentences fit) and padded only to the longest text of their batch. onnxruntime runs on
``threads`` intra-op threads (1 by default: the reading runs in two worker processes already, on a machine the
daemon shares).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from monitor.semantic.deps import require
from monitor.semantic.source import ModelFiles

DEFAULT_MAX_TOKENS = 128
DEFAULT_BATCH_SIZE = 32
# Vectors kept, most recently used first out last: 4,096 × 384 floats is 6 MB (12 MB for mpnet's 768).
DEFAULT_CACHE_SIZE = 4096


class Encoder:
    """``encode(texts)``: an (n × dim) float32 array of unit vectors, one row per text, in order."""

    def __init__(self, files: ModelFiles, *, max_tokens: int = DEFAULT_MAX_TOKENS, threads: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        np, ort, tokenizers = require()
        self._np = np
        self.tokenizer = tokenizers.Tokenizer.from_file(str(files.tokenizer))
        self.tokenizer.enable_truncation(max_tokens)
        padding = self.tokenizer.padding or {}  # keep the model's pad token, but pad to the batch's longest only
        self.tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(files.model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self.dim = int(self._run([" "]).shape[1])

    def encode(self, texts: Sequence[str]) -> Any:
        """Unit vectors for ``texts``; each distinct text not in the cache is run through the model once."""
        np = self._np
        # By length, so that a batch pads its texts to about the same length (padding is wasted work).
        todo = sorted(dict.fromkeys(t for t in texts if t not in self._cache), key=len)
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start:start + self.batch_size]
            for text, vector in zip(chunk, self._run(chunk)):
                self._cache[text] = vector
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            vector = self._cache.get(text)
            if vector is None:  # pushed out of a cache smaller than this call's texts
                vector = self._run([text])[0]
            else:
                self._cache.move_to_end(text)
            out[row] = vector
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    def _run(self, texts: Sequence[str]) -> Any:
        """One batch through the model: pooled and normalised, without the cache."""
        np = self._np
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        states = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        if states.ndim == 3:  # token states: mean over the tokens the mask keeps
            weights = mask[:, :, None].astype(np.float32)
            states = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(states, axis=1, keepdims=True)
        return (states / np.maximum(norms, 1e-12)).astype(np.float32)
