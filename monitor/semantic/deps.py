"""The semantic stage's third-party modules, imported only when the stage is used."""

from __future__ import annotations

from types import ModuleType

from monitor.errors import ConfigError

INSTALL_HINT = "pip install 'news-monitor[semantic]'"


def missing() -> str | None:
    """The first of the stage's modules that cannot be imported, or None when all can."""
    for name in ("numpy", "onnxruntime", "tokenizers"):
        try:
            __import__(name)
        except ImportError:
            return name
    return None


def require() -> tuple[ModuleType, ModuleType, ModuleType]:
    """(numpy, onnxruntime, tokenizers); ConfigError naming the pip command when the extra is not installed."""
    absent = missing()
    if absent is not None:
        raise ConfigError(f"semantic: the semantic stage needs the optional extra ({absent} is not installed): "
                          f"{INSTALL_HINT}")
    import numpy
    import onnxruntime
    import tokenizers
    return numpy, onnxruntime, tokenizers
