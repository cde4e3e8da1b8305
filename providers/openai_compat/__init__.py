"""Remote OpenAI-style APIs over httpx."""

from .provider import OpenAICompatProvider

__all__ = ["OpenAICompatProvider"]
