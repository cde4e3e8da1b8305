"""Incremental detokenization with stop strings.

Text is released as soon as it is final: never half a UTF-8 character, and never the start of what might
become a stop string. Decoding works on a short window of recent tokens, so each token costs the same
however long the answer grows.
"""

from __future__ import annotations

from llmaas.providers.huggingface.model.hf import Tokenizer


class IncrementalText:
    def __init__(self, tokenizer: Tokenizer, stop: list[str]) -> None:
        self._tok = tokenizer
        self._ids: list[int] = []
        self._prefix = 0
        self._read = 0
        self._stop = [s for s in stop if s]
        self._longest = max((len(s) for s in self._stop), default=0)
        self.text: str = ""  # everything decoded so far
        self._sent = 0  # how much of ``text`` has been released
        self.stopped: bool = False

    def _decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def add(self, token: int) -> str:
        """Add one generated token; return the newly final text (possibly empty)."""
        if self.stopped:
            return ""
        self._ids.append(token)
        before = self._decode(self._ids[self._prefix:self._read])
        after = self._decode(self._ids[self._prefix:])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.text += after[len(before):]
            self._prefix, self._read = self._read, len(self._ids)
        return self._release(final=False)

    def finish(self) -> str:
        """The generation ended: release what was held back (stop strings cannot complete any more)."""
        if not self.stopped and self._read < len(self._ids):
            tail = self._decode(self._ids[self._prefix:])
            head = self._decode(self._ids[self._prefix:self._read])
            self.text += tail[len(head):]
            self._read = len(self._ids)
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        if self._stop:
            start = max(0, self._sent - self._longest)
            hits = [i for i in (self.text.find(s, start) for s in self._stop) if i >= 0]
            if hits:
                cut = min(hits)
                self.text = self.text[:cut]
                self.stopped = True
                out = self.text[self._sent:]
                self._sent = len(self.text)
                return out
        end = len(self.text)
        if not final:
            end -= self._held_back()
        out = self.text[self._sent:end]
        self._sent = max(self._sent, end)
        return out

    def _held_back(self) -> int:
        """Length of the longest suffix of the text that is a proper prefix of a stop string."""
        best = 0
        for s in self._stop:
            for n in range(min(len(s) - 1, len(self.text)), best, -1):
                if self.text.endswith(s[:n]):
                    best = n
                    break
        return best
