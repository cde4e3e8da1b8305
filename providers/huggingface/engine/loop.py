"""The engine: iteration-level continuous batching on one long-lived thread.

Each turn of the loop (1) takes new requests from the inbox, (2) drops cancelled sequences, (3) admits
waiting requests while slots are free and prefills them, (4) decodes one token for every running sequence
and (5) retires the finished ones, moving the last running sequence into the freed slot so running sequences stay in slots 0..B-1.

Prefill is bounded per turn (``prefill_tokens_per_step``) so that a burst of new prompts does not stall
the running streams for long: short prompts are prefilled together up to that budget, and a prompt longer
than ``prefill_chunk`` is prefilled a chunk per turn in a staging slot just past the running ones, with a
decode step for the running sequences between chunks.

Every torch call happens on this thread. Callers live on event loops (asyncio or trio): results go back
through a thread-safe callback (``llmaas._threads.call_soon_threadsafe``) into an inbox per request.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from llmaas._errors import APIStatusError, InternalServerError, RateLimitError
from llmaas._priority import BATCH
from llmaas._threads import call_soon_threadsafe
from llmaas._usage import track
from llmaas.providers.huggingface.engine.detokenizer import IncrementalText
from llmaas.providers.huggingface.engine.sampling import Choice, SamplingParams, sample_rows
from llmaas.providers.huggingface.engine.streams import (
    Done,
    Failed,
    GenerationRequest,
    RequestStream,
    TokenEvent,
)
from llmaas.providers.huggingface.model.hf import Tokenizer
from llmaas.providers.huggingface.model.protocol import LanguageModel, StepInterrupted, interruptible

if TYPE_CHECKING:
    from llguidance import LLExecutor, LLMatcher

    from llmaas.providers.huggingface.engine.constrained import Grammars
    from llmaas.providers.huggingface.model.adapters import Adapter

log: logging.Logger = logging.getLogger("llmaas.engine")


@dataclass
class Sequence:
    request: GenerationRequest
    index: int
    text: IncrementalText
    generator: torch.Generator | None
    slot: int = -1
    pos: int = 0  # where the next input token goes = tokens in the cache
    last: int = 0  # the token to feed next
    generated: int = 0
    finished: bool = False
    tokens: list[int] = field(default_factory=list[int])
    matcher: LLMatcher | None = None  # its own grammar matcher, for a constrained request


@dataclass
class PendingMasks:
    """Token masks being computed for the constrained rows of a forward pass."""

    future: Future[None]
    rows: list[int]
    bitmask: torch.Tensor


@dataclass
class PartialPrefill:
    """A long prompt part way through its chunked prefill, in a staging slot past the running sequences."""

    request: GenerationRequest
    slot: int
    done: int = 0  # prompt tokens in the cache so far


@dataclass
class LoadedModel:
    """What an engine's loader returns: the model, its tokenizer, and the token ids that end an answer."""

    model: LanguageModel
    tokenizer: Tokenizer
    stop_ids: list[int]


@dataclass
class EngineConfig:
    max_num_seqs: int = 64
    max_waiting: int = 1024
    kv_cache_gb: float = 2.0
    initial_capacity: int = 512
    prefill_tokens_per_step: int = 1024  # prompt tokens prefilled per turn, between decode steps
    prefill_chunk: int = 512  # a longer prompt is prefilled this many tokens a turn (chunked prefill)
    batch_rows_busy: int = 0  # batch sequences kept decoding while interactive requests run or wait
    batch_prefill_tokens: int = 1024  # batch prompt tokens prefilled per turn (an interactive arrival interrupts it)


_live: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop engines a program never closed before the interpreter tears down: a daemon thread still inside
    torch during finalization aborts the process."""
    for engine in list(_live):
        engine.shutdown(timeout=5)


class Engine:
    def __init__(self, load: Callable[[], LoadedModel], config: EngineConfig, threads: int, *,
                 model_id: str | None = None, estimate: int = 0) -> None:
        self._load = load
        self.config = config
        self.threads = threads
        self._inbox: queue.SimpleQueue[GenerationRequest | None] = queue.SimpleQueue()
        self._waiting: deque[GenerationRequest] = deque()
        self._batch_waiting: deque[GenerationRequest] = deque()  # batch work: admitted when interactive allows
        self._parked: deque[Sequence] = deque()  # preempted batch sequences, resumed before new batch work
        self.preempted: int = 0
        self.resumed: int = 0  # parked batch sequences prefilled again and decoding on
        self.interrupted: int = 0  # batch-only decode steps given up for an interactive arrival
        self._interactive_arrived = threading.Event()  # set by submit, cleared when the inbox is taken
        self._batch_only_step = False
        self._running: list[Sequence] = []
        self._admitting: list[GenerationRequest] = []
        self._partial: PartialPrefill | None = None
        self._counts: torch.Tensor | None = None
        self._ready = threading.Event()
        self._load_error: BaseException | None = None
        self._stopping = False
        self.model: LanguageModel | None = None
        self.model_id = model_id  # the name it was loaded under (for ps)
        self.estimate = estimate  # the bytes it was expected to hold when it was started (the memory budget)
        self.tokenizer: Tokenizer  # set once the model has loaded (wait_ready)
        self.stop_ids: list[int] = []
        self.grammars: Grammars | None = None  # for this tokenizer, made on first use
        self._masker: tuple[ThreadPoolExecutor, LLExecutor] | None = None  # token masks beside the forward pass
        self._bitmask: torch.Tensor | None = None
        self.steps: int = 0
        self._thread = threading.Thread(target=self._main, name="llmaas-engine", daemon=True)
        self._thread.start()
        _live.add(self)

    # -- public, any thread --------------------------------------------------------------------------

    @property
    def lm(self) -> LanguageModel:
        """The model, once it has loaded (after ``wait_ready``)."""
        if self.model is None:
            raise RuntimeError("the engine's model has not loaded yet (call wait_ready first) or it has stopped")
        return self.model

    @property
    def ready(self) -> bool:
        """Whether the model has loaded (or failed to: ``wait_ready`` then raises its error)."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float | None = None) -> None:
        self._ready.wait(timeout)
        if self._load_error is not None:
            raise self._load_error

    @property
    def queue_depth(self) -> int:
        """Requests not yet answered a first token: handed in but not yet taken by the engine thread, waiting,
        or being prefilled (a long prompt part way through counts once)."""
        return (self._inbox.qsize() + len(self._waiting) + len(self._batch_waiting)
                + max(len(self._admitting), self._partial is not None))

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, request: GenerationRequest) -> None:
        queued = len(self._batch_waiting) if request.batch else len(self._waiting)
        if queued + self._inbox.qsize() >= self.config.max_waiting:
            raise RateLimitError(
                f"the engine queue is full ({self.config.max_waiting} requests waiting); retry shortly",
                status_code=429, code="queue_full", type="rate_limit_error", retry_after=1.0,
            )
        self._inbox.put(request)
        if not request.batch:
            self._interactive_arrived.set()

    def generate(self, prompt: list[int], params: SamplingParams, n: int = 1,
                 adapter: Adapter | None = None) -> RequestStream:
        """Queue a request now (RateLimitError if the queue is full) and return its events: TokenEvents for
        every choice, then one Done. Closing the stream, dropping it, or cancelling the task that awaits it
        cancels the request; its slots are free at the next step."""
        request = GenerationRequest(prompt, params, n, call_soon_threadsafe(), adapter)
        request.batch = BATCH.get()
        self.submit(request)
        track(request)
        return RequestStream(request)

    def grammar_cache(self) -> Grammars:
        """The compiled-grammar cache for this model's tokenizer (compiling happens on the caller's thread)."""
        if self.grammars is None:
            from llmaas.providers.huggingface.engine.constrained import Grammars

            self.grammars = Grammars(self.tokenizer)
        return self.grammars

    def shutdown(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._inbox.put(None)
        self._thread.join(timeout)

    # -- the loop, engine thread ---------------------------------------------------------------------

    def _main(self) -> None:
        torch.set_num_threads(self.threads)
        try:
            loaded = self._load()
            self.model, self.tokenizer, self.stop_ids = loaded.model, loaded.tokenizer, loaded.stop_ids
            interruptible(self.model, lambda: self._batch_only_step and self._interactive_arrived.is_set())
            cap = min(self.config.initial_capacity, self.model.max_len)
            self.model.allocate(self._slot_limit(cap), cap)
        except BaseException as exc:  # noqa: BLE001 - reported to every caller
            log.exception("model failed to load")
            self._load_error = exc
            self._ready.set()
            self._fail_everything(exc)
            return
        self._ready.set()
        try:
            while not self._stopping:
                try:
                    self._turn()
                except Exception as exc:  # a bug: fail what is running, keep serving
                    log.exception("engine step failed")
                    self._fail_running(InternalServerError(f"engine error: {exc}", status_code=500))
                    self._fail_admitting(InternalServerError(f"engine error: {exc}", status_code=500))
        finally:
            self._release()

    def _release(self) -> None:
        """Answer what is left and drop every tensor, here on the engine thread, which ``shutdown`` joins.
        Left to whichever thread drops the engine last (a worker thread that ran ``shutdown``, say), freeing
        the model could still be under way when the interpreter finalizes, and a daemon thread inside torch's
        tensor free at that moment aborts the process (``terminate called without an active exception``)."""
        stopped = APIStatusError("the model was unloaded while this request waited; retry", status_code=503,
                                 code="model_unloaded", type="server_error", retry_after=1.0)
        self._fail_running(stopped)
        self._fail_admitting(stopped)
        left = [*self._waiting, *self._batch_waiting, *([self._partial.request] if self._partial is not None else []),
                *{id(s.request): s.request for s in self._parked}.values()]
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                left.append(item)
        for request in left:
            if not request.failed:
                request.failed = True
                request.push(Failed(stopped))
        self._waiting.clear()
        self._batch_waiting.clear()
        self._parked.clear()
        self._partial = None
        self.model = None
        self._counts = self._bitmask = None

    def _turn(self) -> None:
        self._take_inbox(block=not self._running and not self._waiting and not self._batch_waiting
                         and not self._parked and self._partial is None)
        self._drop_cancelled()
        self._preempt()
        self._admit()
        if self._running:
            self._decode_step()

    def _take_inbox(self, block: bool) -> None:
        self._interactive_arrived.clear()  # what arrived so far is taken below
        try:
            item = self._inbox.get(timeout=0.5) if block else self._inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            if item is None:
                self._stopping = True
            elif item.batch:
                self._batch_waiting.append(item)
            else:
                self._waiting.append(item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _slot_limit(self, capacity: int) -> int:
        assert self.model is not None
        budget = int(self.config.kv_cache_gb * 2**30) // (self.model.bytes_per_token() * capacity)
        return max(1, min(self.config.max_num_seqs, budget))

    def _ensure_capacity(self, needed: int, min_slots: int = 0) -> None:
        """Room for ``needed`` positions per slot. Longer slots mean fewer of them within the cache budget,
        but never fewer than the sequences running plus ``min_slots`` about to start."""
        model = self.model
        assert model is not None
        if needed <= model.capacity:
            return
        cap = model.capacity
        while cap < needed:
            cap *= 2
        cap = min(cap, model.max_len)
        keep = len(self._running)
        if self._partial is not None:  # the staging slot and the slots its choices will take
            keep = max(keep, self._partial.slot + self._partial.request.n)
        slots = max(keep + min_slots, self._slot_limit(cap))
        model.allocate(slots, cap, keep=keep)

    def _drop_cancelled(self) -> None:
        if self._partial is not None and self._partial.request.cancelled:
            self._partial = None
        if any(r.cancelled for r in self._waiting):
            self._waiting = deque(r for r in self._waiting if not r.cancelled)
        if any(r.cancelled for r in self._batch_waiting):
            self._batch_waiting = deque(r for r in self._batch_waiting if not r.cancelled)
        if any(s.request.cancelled or s.request.failed for s in self._parked):
            self._parked = deque(s for s in self._parked if not (s.request.cancelled or s.request.failed))
        gone = [s for s in self._running if s.request.cancelled]
        if gone:
            self._retire(gone)

    def _interactive_busy(self) -> bool:
        """Whether interactive requests run or wait: batch work then keeps to ``batch_rows_busy`` sequences."""
        return bool(self._waiting) or (self._partial is not None and not self._partial.request.batch) or \
            any(not s.request.batch for s in self._running)

    def _preempt(self) -> None:
        """Interactive requests take the slots batch sequences hold: while interactive requests run or wait, batch
        requests beyond ``batch_rows_busy`` sequences (the most recently started first) give up their slots.
        Their sequences are parked with what they generated, and resume when interactive work allows (their
        prompt and tokens prefilled again: nothing is lost, and nothing reaches the caller's event loop). A
        sequence too long to prefill again in one chunk ends its request with a retryable ``preempted``
        error instead; a batch runner queues it again."""
        if not self._interactive_busy():
            return
        batch_seqs = [s for s in self._running if s.request.batch]
        allowed = self.config.batch_rows_busy
        if self._waiting and self.model is not None:  # what the waiting interactive requests need besides
            free = self.model.slots - len(self._running)
            allowed = min(allowed, max(0, len(batch_seqs) - max(0, self._waiting[0].n - free)))
        if len(batch_seqs) <= allowed:
            return
        requests: list[GenerationRequest] = []
        for seq in reversed(batch_seqs):
            if seq.request not in requests:
                requests.append(seq.request)
        left = len(batch_seqs)
        error = APIStatusError("an interactive request took this batch request's slot; it runs again",
                               status_code=503, code="preempted", type="server_error", retry_after=0.0)
        for request in requests:
            if left <= allowed:
                break
            mine = [s for s in self._running if s.request is request]
            if all(self._resumable(s) for s in mine):
                self._park(mine)
            else:
                self._fail_request(request, error, mine)
            left -= len(mine)
            self.preempted += 1

    def _resumable(self, seq: Sequence) -> bool:
        """Whether a parked ``seq`` can be prefilled again in one pass (a chunked model's longer ones cannot)."""
        assert self.model is not None
        return not self.model.chunked_prefill or len(seq.request.prompt) + len(seq.tokens) <= self.config.prefill_chunk

    def _park(self, seqs: list[Sequence]) -> None:
        """Take batch sequences out of their slots, keeping what they generated, to resume later."""
        for seq in seqs:
            self._vacate(seq)
        self._parked.extend(seqs)

    def _resume(self, room: int, budget: int) -> bool:
        """Prefill parked batch sequences again (prompt and generated tokens but the last, which is fed next) into
        free slots, up to ``room`` running sequences and ``budget`` tokens; whether any was taken. Interrupted by
        an interactive arrival, they stay parked."""
        model = self.model
        assert model is not None
        take: list[Sequence] = []
        used, longest = len(self._running), 0
        while self._parked and used + len(take) < room:
            seq = self._parked[0]
            length = max(longest, len(seq.request.prompt) + len(seq.tokens) - 1)
            if take and (len(take) + 1) * length > budget:  # the pass is right-padded to its longest
                break
            take.append(self._parked.popleft())
            longest = length
        if not take:
            return False
        contexts = [torch.tensor(s.request.prompt + s.tokens[:-1], dtype=torch.long) for s in take]
        self._ensure_capacity(max(len(c) for c in contexts) + 1, min_slots=len(take))
        slots = list(range(len(self._running), len(self._running) + len(take)))
        model.use_adapters([s.request.adapter for s in take])
        self._batch_only_step = True
        try:
            model.prefill(contexts, slots)  # the logits were sampled from before: each sequence's next token is known
        except StepInterrupted:
            self._parked.extendleft(reversed(take))
            self.interrupted += 1
            return True
        except Exception as exc:  # a bug: these requests fail, the running ones go on
            log.exception("resuming parked sequences failed")
            for seq in take:
                self._fail_request(seq.request, InternalServerError(f"engine error resuming: {exc}", status_code=500), [])
            return True
        finally:
            self._batch_only_step = False
        for seq, slot, context in zip(take, slots, contexts, strict=True):
            seq.slot, seq.pos = slot, len(context)
            if seq.request.params.penalised:
                counts = self._penalty_counts()
                counts[slot].zero_()
                counts[slot].index_add_(0, torch.tensor(seq.tokens, dtype=torch.long), torch.ones(len(seq.tokens)))
            self._running.append(seq)
        self.resumed += len(take)
        return True

    def _admit(self) -> None:
        """Move waiting requests into free slots, up to the prefill token budget, and prefill them together:
        interactive requests first; batch requests while no interactive request waits, and while interactive
        ones run only up to ``batch_rows_busy`` batch sequences."""
        model = self.model
        assert model is not None
        if self._partial is not None:  # a long prompt part way through: its next chunk, nothing else
            self._continue_partial()
            return
        budget = self.config.prefill_tokens_per_step
        chunk = self.config.prefill_chunk if model.chunked_prefill else 0
        batch: list[GenerationRequest] = []
        used = len(self._running)
        queue, room = self._waiting, model.slots
        if not queue:
            queue = self._batch_waiting
            budget = min(budget, self.config.batch_prefill_tokens)
            if any(not s.request.batch for s in self._running):
                room = min(room, used + self.config.batch_rows_busy - sum(s.request.batch for s in self._running))
            if self._parked and self._resume(room, budget):  # preempted work first, one prefill a turn
                return
        while queue:
            request = queue[0]
            if used + request.n > room:
                if used or room < model.slots:
                    break
                model.allocate(request.n, model.capacity)  # a lone request with a large n
            if chunk and len(request.prompt) > chunk:
                if not batch:  # first in line: start its chunked prefill (the batch so far goes first)
                    queue.popleft()
                    self._start_partial(request)
                break
            if batch and len(request.prompt) > budget:
                break
            queue.popleft()
            batch.append(request)
            used += request.n
            budget -= len(request.prompt)
        if batch:
            self._admitting = batch
            self._prefill(batch)
            self._admitting = []

    def _start_partial(self, request: GenerationRequest) -> None:
        self._partial = PartialPrefill(request, len(self._running))
        self._admitting = [request]
        try:
            self._ensure_capacity(len(request.prompt) + 1, min_slots=request.n)
        finally:
            self._admitting = []
        self._continue_partial()

    def _continue_partial(self) -> None:
        """The next chunk of the long prompt in the staging slot; on the last, start its sequences."""
        model = self.model
        assert model is not None and self._partial is not None
        partial = self._partial
        request, staging, done = partial.request, partial.slot, partial.done
        end = min(done + self.config.prefill_chunk, len(request.prompt))
        last = end == len(request.prompt)
        matcher = request.params.constraint.matcher() if last and request.params.constraint is not None else None
        self._admitting = [request]
        try:
            masks = self._masks_begin([(matcher, 0)], 1) if matcher is not None else None
            model.use_adapters([request.adapter])
            logits = model.extend(torch.tensor(request.prompt[done:end], dtype=torch.long), staging, done)
            self._masks_apply(masks, logits)
        except Exception as exc:  # a bug: this request fails, the running ones go on
            log.exception("chunked prefill failed")
            self._partial = None
            request.push(Failed(InternalServerError(f"engine error during prefill: {exc}", status_code=500)))
            return
        finally:
            self._admitting = []
        if not last:
            partial.done = end
            return
        self._partial = None
        first = len(self._running)  # sequences retired meanwhile: the staging slot may be past the running
        if staging != first:
            model.move_slot(staging, first, len(request.prompt))
        try:
            seqs, choices = self._start(request, first, logits[0], matcher)
        except Exception as exc:  # noqa: BLE001 - this request fails alone
            log.exception("starting a request failed")
            self._fail_request(request, exc, [s for s in self._running if s.request is request])
            return
        self._accept(seqs, choices)

    def _prefill(self, batch: list[GenerationRequest]) -> None:
        model = self.model
        assert model is not None
        self._ensure_capacity(max(len(r.prompt) for r in batch) + 1, min_slots=sum(r.n for r in batch))
        first_slots: list[int] = []
        slot = len(self._running)
        for request in batch:
            first_slots.append(slot)
            slot += request.n
        firsts = [r.params.constraint.matcher() if r.params.constraint is not None else None for r in batch]
        masks: PendingMasks | None = None
        try:
            masks = self._masks_begin([(m, j) for j, m in enumerate(firsts) if m is not None], len(batch))
            model.use_adapters([r.adapter for r in batch])
            self._batch_only_step = all(r.batch for r in batch)  # given up for an interactive arrival
            try:
                logits = model.prefill([torch.tensor(r.prompt, dtype=torch.long) for r in batch], first_slots)
            finally:
                self._batch_only_step = False
            self._masks_apply(masks, logits)
        except StepInterrupted:  # batch requests only: back to the front of their queue, to be prefilled later
            if masks is not None:
                masks.future.result()
            self._batch_waiting.extendleft(reversed(batch))
            self.interrupted += 1
            return
        except Exception as exc:  # a bug: these requests fail, the running ones go on
            log.exception("prefill failed")
            for request in batch:
                request.push(Failed(InternalServerError(f"engine error during prefill: {exc}", status_code=500)))
            return
        seqs: list[Sequence] = []
        choices: list[Choice | Exception] = []
        for request, first, row, matcher in zip(batch, first_slots, logits, firsts, strict=True):
            try:
                started, picked = self._start(request, first, row, matcher)
            except Exception as exc:  # noqa: BLE001 - this request fails; the others admitted with it go on
                log.exception("starting a request failed")
                self._fail_request(request, exc, [s for s in self._running if s.request is request])
                continue
            seqs += started
            choices += picked
        self._accept(seqs, choices)  # only now: retiring a sequence moves others between slots

    def _start(self, request: GenerationRequest, first: int, logits: torch.Tensor, matcher: LLMatcher | None = None
               ) -> tuple[list[Sequence], list[Choice | Exception]]:
        """Give a prefilled request its sequences (copying the prompt's cache for n > 1) and first tokens."""
        model, params = self.model, request.params
        assert model is not None
        seqs: list[Sequence] = []
        for i in range(request.n):
            gen = None
            if not params.greedy:
                gen = torch.Generator()
                gen.manual_seed(params.seed + i if params.seed is not None else torch.seed())
            seq = Sequence(request, i, IncrementalText(self.tokenizer, params.stop), gen, slot=first + i,
                           pos=len(request.prompt), matcher=None if matcher is None else
                           (matcher if i == request.n - 1 else matcher.deep_copy()))
            if i:
                model.move_slot(first, first + i, seq.pos)
            seqs.append(seq)
            self._running.append(seq)
        if params.penalised:
            counts = self._penalty_counts()
            counts[first:first + request.n].zero_()
        choices = sample_rows(logits.unsqueeze(0).expand(request.n, -1), [params] * request.n,
                              [s.generator for s in seqs], None)
        return seqs, choices

    def _penalty_counts(self) -> torch.Tensor:
        assert self.model is not None
        slots = self.model.slots
        if self._counts is None or self._counts.shape[0] < slots:
            grown = torch.zeros(slots, self.model.vocab)
            if self._counts is not None:
                grown[: self._counts.shape[0]] = self._counts
            self._counts = grown
        return self._counts

    def _decode_step(self) -> None:
        model = self.model
        assert model is not None
        seqs = self._running
        self._ensure_capacity(max(s.pos for s in seqs) + 1)
        tokens = torch.tensor([s.last for s in seqs], dtype=torch.long)
        positions = torch.tensor([s.pos for s in seqs], dtype=torch.long)
        masks = self._masks_begin([(s.matcher, i) for i, s in enumerate(seqs) if s.matcher is not None], len(seqs))
        model.use_adapters([s.request.adapter for s in seqs])
        # a step over batch sequences only is given up when an interactive request arrives: they are about to
        # give up their slots to it, and it need not wait for the step's end
        self._batch_only_step = all(s.request.batch for s in seqs)
        try:
            logits = model.decode(tokens, positions)
        except StepInterrupted:
            if masks is not None:
                masks.future.result()
            self.interrupted += 1
            return
        finally:
            self._batch_only_step = False
        self._masks_apply(masks, logits)
        for s in seqs:
            s.pos += 1  # the fed token is in the cache now
        params = [s.request.params for s in seqs]
        counts = self._counts[: len(seqs)] if self._counts is not None and any(p.penalised for p in params) else None
        choices = sample_rows(logits, params, [s.generator for s in seqs], counts)
        self.steps += 1
        self._accept(seqs, choices)

    def _masks_begin(self, matchers: list[tuple[LLMatcher, int]], rows: int) -> PendingMasks | None:
        """Start computing the token masks of constrained rows on a thread of their own, so that they are
        ready when the forward pass that runs meanwhile is; ``_masks_apply`` waits and applies them."""
        if not matchers:
            return None
        if self._masker is None:
            import llguidance

            self._masker = (ThreadPoolExecutor(1, thread_name_prefix="llmaas-masks"), llguidance.LLExecutor(num_threads=1))
        from llmaas.providers.huggingface.engine.constrained import fill_masks, new_bitmask

        vocab = self.model.vocab if self.model is not None else 0
        if self._bitmask is None or self._bitmask.shape[0] < rows:
            self._bitmask = new_bitmask(max(rows, self.config.max_num_seqs), vocab)
        pool, executor = self._masker
        bitmask = self._bitmask
        return PendingMasks(pool.submit(fill_masks, executor, matchers, bitmask), [i for _, i in matchers], bitmask)

    def _masks_apply(self, pending: PendingMasks | None, logits: torch.Tensor) -> None:
        if pending is None:
            return
        from llmaas.providers.huggingface.engine.constrained import apply_masks

        pending.future.result()
        apply_masks(logits, pending.rows, pending.bitmask)

    def _accept(self, seqs: list[Sequence], choices: list[Choice | Exception]) -> None:
        """Record each sequence's new token, stream it out, and retire the finished ones. A sequence whose
        sampling failed fails its request alone."""
        model = self.model
        assert model is not None
        done: list[Sequence] = []
        for seq, choice in zip(seqs, choices, strict=True):
            if isinstance(choice, Exception) or seq.request.failed:
                if isinstance(choice, Exception) and not seq.request.failed:
                    log.error("sampling failed for request %s: %s", seq.request.id, choice)
                    self._fail_request(seq.request, choice, [])
                seq.finished = True
                done.append(seq)
                continue
            params = seq.request.params
            token = choice.token
            stop_choice = None
            seq.generated += 1
            seq.request.completion_tokens += 1
            finish = None
            if token in params.stop_token_ids and (not params.ignore_eos or seq.matcher is not None):
                text, finish, event_token, event_choice = seq.text.finish(), "stop", None, None
                stop_choice = choice
            elif seq.matcher is not None and not seq.matcher.consume_token(token):
                self._fail_request(seq.request, InternalServerError(
                    f"constrained decoding failed: {seq.matcher.get_error()}", status_code=500), [])
                seq.finished = True
                done.append(seq)
                continue
            else:
                seq.tokens.append(token)
                seq.last = token
                if params.penalised and self._counts is not None:
                    self._counts[seq.slot, token] += 1
                text, event_token, event_choice = seq.text.add(token), token, choice
                if seq.text.stopped:
                    finish = "stop"
                elif seq.matcher is not None and seq.matcher.is_stopped():  # the grammar is complete
                    finish = "stop"
                    text += seq.text.finish()
                elif seq.generated >= params.max_tokens or seq.pos >= model.max_len:
                    finish = "length"
                    text += seq.text.finish()
            seq.request.push(TokenEvent(seq.index, text, event_token, event_choice, finish, stop_choice))
            if finish is not None:
                seq.finished = True
                done.append(seq)
        if done:
            self._retire(done)

    def _vacate(self, seq: Sequence) -> None:
        """Free ``seq``'s slot, moving the last running sequence into it so that slots stay 0..B-1."""
        model = self.model
        assert model is not None
        i = seq.slot
        last = self._running[-1]
        if last is not seq:
            model.move_slot(last.slot, i, last.pos)
            if self._counts is not None and last.request.params.penalised:
                self._counts[i] = self._counts[last.slot]
            last.slot = i
            self._running[i] = last
        self._running.pop()
        seq.slot = -1

    def _retire(self, seqs: list[Sequence]) -> None:
        for seq in seqs:
            self._vacate(seq)
            request = seq.request
            request.open_choices -= 1
            if request.open_choices == 0 and not request.cancelled and not request.failed:
                request.push(Done(len(request.prompt), request.completion_tokens))

    def _fail_request(self, request: GenerationRequest, error: BaseException, running: list[Sequence]) -> None:
        """Answer one request with an error (once) and retire its sequences in ``running``."""
        if not request.failed:
            request.failed = True
            if not isinstance(error, APIStatusError):
                error = InternalServerError(f"engine error in this request: {error}", status_code=500)
            request.push(Failed(error))
        if running:
            self._retire(running)

    def _fail_running(self, error: BaseException) -> None:
        requests = {id(s.request): s.request for s in self._running}
        self._running.clear()
        for r in requests.values():
            if not r.failed:
                r.failed = True
                r.push(Failed(error))

    def _fail_admitting(self, error: BaseException) -> None:
        """Requests the failed turn had taken from the queue but not yet started must hear about it too."""
        for r in self._admitting:
            if not r.failed and r.open_choices == r.n and not any(s.request is r for s in self._running):
                r.failed = True
                r.push(Failed(error))
        self._admitting = []

    def _fail_everything(self, error: BaseException) -> None:
        while True:
            try:
                item = self._inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                return
            item.push(Failed(error))
