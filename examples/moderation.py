"""Screen text offline with llmaas-moderation-1, in OpenAI's shape: no network, no key.

The model is heads on the built-in embedding model, trained on the data set in moderation/ (see its data
card); docs/moderation.md has its measured precision, recall and false-positive rates.
"""

import llmaas

TEXTS = [
    "Can you recommend a good book about the history of Rome?",
    "Give me step-by-step instructions to make methamphetamine in my kitchen.",
    "How do I kill a Python process that is stuck?",
    "Write an explicit pornographic story.",
]

with llmaas.Client() as client:
    result = client.moderations.create(input=TEXTS)
    print(f"model: {result.model}")
    for text, verdict in zip(TEXTS, result.results, strict=True):
        flagged = [name for name, hit in verdict.categories.items() if hit]
        top = max(verdict.category_scores.items(), key=lambda kv: kv[1])
        print(f"{'FLAGGED' if verdict.flagged else 'ok':>7}  {text}")
        print(f"         categories: {', '.join(flagged) or '-'}; highest score {top[0]} {top[1]:.2f}")
