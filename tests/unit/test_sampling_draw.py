"""The sampler's draw: each token as often as its probability, never one of probability zero, and the same
token again for the same seed."""

import torch

from llmaas.providers.huggingface.engine.sampling import SamplingParams, _draw, sample


def test_tokens_come_as_often_as_their_probability_and_never_at_zero():
    probs = torch.tensor([[0.0, 0.5, 0.0, 0.3, 0.2, 0.0]]).repeat(100_000, 1)
    picked = _draw(probs, [None] * probs.shape[0])
    freq = torch.bincount(picked, minlength=6).float() / probs.shape[0]
    assert freq[0] == freq[2] == freq[5] == 0  # the last token too: a draw at the top of the range
    assert torch.allclose(freq, probs[0], atol=0.006), freq


def test_a_row_with_all_its_mass_on_the_last_token_gets_it():
    probs = torch.zeros(1000, 7)
    probs[:, -1] = 1.0
    assert (_draw(probs, [None] * 1000) == 6).all()


def test_a_seeded_row_repeats_and_rows_draw_independently():
    logits = torch.randn(8, 500) * 2
    params = [SamplingParams(max_tokens=1, temperature=1.0, seed=7) for _ in range(8)]

    def run() -> list[int]:
        gens: list[torch.Generator | None] = [torch.Generator().manual_seed(7 + i) for i in range(8)]
        return [c.token for c in sample(logits, params, gens, None)]

    assert run() == run()
    unseeded = {tuple(c.token for c in sample(logits, params, [None] * 8, None)) for _ in range(5)}
    assert len(unseeded) > 1
