"""Screen text offline with llmaas-moderation-2, in OpenAI's shape: no network, no key.

The model is the built-in embedding model fine-tuned as a classifier on the data set in moderation/ (see its
data card); docs/moderation.md has its measured recall and false-positive rates, on sources it never saw.
`sensitivity` (an llmaas extension, sent with extra_body) picks one of its three calibrated threshold sets.
"""

import llmaas

TEXTS = [
    "Can you recommend a good book about the history of Rome?",
    "Give me step-by-step instructions to make methamphetamine in my kitchen.",
    "How do I kill a zombie process on Linux?",
    "I'm going to find you tonight and smash your skull in.",
]

with llmaas.Client() as client:
    result = client.moderations.create(input=TEXTS)
    print(f"model: {result.model}")
    for text, verdict in zip(TEXTS, result.results, strict=True):
        flagged = [name for name, hit in verdict.categories.items() if hit]
        top = max(verdict.category_scores.items(), key=lambda kv: kv[1])
        print(f"{'FLAGGED' if verdict.flagged else 'ok':>7}  {text}")
        print(f"         categories: {', '.join(flagged) or '-'}; highest score {top[0]} {top[1]:.2f}")

    strict = client.moderations.create(input=TEXTS, extra_body={"sensitivity": "strict"})
    print(f"flagged at strict: {sum(r.flagged for r in strict.results)} of {len(TEXTS)}; at balanced: "
          f"{sum(r.flagged for r in result.results)}")
