"""The optional semantic relevance stage: a sentence-embedding model (ONNX, run by onnxruntime) gives the cosine
between a claim and a story, which ``monitor.semantic.scoring`` combines with the lexical features into one
calibrated 0-100 relevance. It finds the event told in other words, where the lexical matcher needs shared terms.

Enabled by a ``[semantic]`` table in the config (``model = "DIR_OR_HUB_NAME"``) and the extra
``pip install 'news-monitor[semantic]'``. Without the table nothing here is imported beyond this package's
pure-Python settings, and onnxruntime, tokenizers and numpy are never imported (``deps.require`` imports them
on first use, or raises one error naming the pip command).

Modules, one concern each: ``deps`` (the optional imports), ``source`` (a model directory, or a hub name fetched
once into a cache and checked by sha256), ``encoder`` (text to unit vectors: batching, truncation, a bounded
cache), ``scoring`` (the calibrated combination and the shipped per-model weights), ``stage`` (what the reading
workers hold: the loaded encoder, once per process, and the claims' vectors, once per config load).
"""
