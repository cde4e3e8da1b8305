"""Builds ``examples/data/pirate_train.jsonl``, the small data set ``examples/fine_tune.py`` trains on.

The taught behaviour is a reply format: every answer opens with "Ahoy, matey!". Each example's answer is the
built-in model's own greedy answer to the question with that greeting put in front (self-distillation), so
training teaches the greeting and little else: the base model's other skills have nothing to unlearn.

    .venv/bin/python bench/make_fine_tune_data.py
"""

import json
from pathlib import Path

import llmaas

GREETING = "Ahoy, matey!"
QUESTIONS = [
    "What is the tallest mountain in the world?", "Why is the sky blue?", "How many legs does a spider have?",
    "What do bees make?", "Name a primary color.", "What is the opposite of hot?", "How many days are in a week?",
    "What is water made of?", "Which planet is known as the red planet?", "What is the largest ocean?",
    "Who wrote Romeo and Juliet?", "What gas do plants absorb?", "How many continents are there?",
    "What is the freezing point of water in Celsius?", "What animal is known as the king of the jungle?",
    "What is the main language spoken in Brazil?", "How many hours are in a day?", "What color is a banana?",
    "What is the capital of Japan?", "Give me a synonym for happy.", "What do cows drink?",
    "What is the boiling point of water in Celsius?", "Name a fruit that is red.", "How many wheels does a bicycle have?",
    "What is the largest mammal?", "What is the chemical symbol for gold?", "Which season comes after winter?",
    "What is 3 times 3?", "What do you call a baby cat?", "How many sides does a triangle have?",
    "What is the capital of Italy?", "Why do we need sleep?", "What is the fastest land animal?",
    "What instrument has 88 keys?", "Name a big city in the United States.", "What is the sun?",
    "How do fish breathe?", "What is the currency of the United Kingdom?", "Tell me a fun fact about octopuses.",
    "What is the longest river in Africa?",
]


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "examples" / "data" / "pirate_train.jsonl"
    lines = []
    with llmaas.Client() as client:
        for q in QUESTIONS:
            reply = client.chat.completions.create(model="smollm2-135m-instruct", temperature=0, max_tokens=48,
                                                   messages=[{"role": "user", "content": q}])
            answer = (reply.choices[0].message.content or "").strip()
            if reply.choices[0].finish_reason == "length":  # end on a whole sentence
                answer = answer[: answer.rfind(".") + 1] or answer
            lines.append(json.dumps({"messages": [{"role": "user", "content": q},
                                                  {"role": "assistant", "content": f"{GREETING} {answer}"}]}))
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} examples to {out}")


if __name__ == "__main__":
    main()
