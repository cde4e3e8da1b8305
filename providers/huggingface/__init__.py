"""Hugging Face models in process: the continuous-batching engine, embeddings, the built-in models.

Importing this package is cheap; torch and transformers load when a model is first used.
"""

from .provider import HuggingFaceProvider

__all__ = ["HuggingFaceProvider"]
