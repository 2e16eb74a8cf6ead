"""A generated flight-booking corpus in ATIS's style and tag names, where only context tells a
departure city from a destination.

    i would like to arrive taipei on november second
    O O      O    O  O      B-toloc.city_name O B-arrive_date.month_name B-arrive_date.day_number
    i want to leave taipei in the morning
    O O    O  O     B-fromloc.city_name O O B-depart_time.period_of_day

Sentences are made in pairs that use the same cities with the roles swapped (a sentence with a
destination only is paired with one with a departure only; one with both, with one where the two
cities trade places). So in every split each city word is tagged `fromloc` exactly as often as
`toloc` (for an even number of sentences): a classifier that sees one word at a time scores at
most 50 % on city tokens, whatever it learns, while the cue — "from", "to", "leave", "arrive in",
"leaving", the word order "X to Y" — is one or a few words away. Dates and times are tagged
`depart_*` or `arrive_*` by the same cues. Intents are ATIS's: `atis_flight`, `atis_airfare`,
`atis_airline`. Everything is drawn from `random.Random` seeded by (seed, split): deterministic.

**Versions.** Version 1 (rnnlab 0.1) tied request phrasings to cues: "i would like to …" only
ever came with "arrive", "i want to …" only with "leave", so the phrasing predicted the role as
well as the verb did, and a tagger learned that shortcut. Version 2 (the default) builds every
sentence from a frame (a request phrasing, or a noun phrase such as "show me flights") and a cue
phrase for each city, every frame with every cue, and makes sentences in pairs that differ only
in the cue (same frame, city, dates and times; two-city sentences: the cities swapped). So only
the `CUE_WORDS` tell the roles apart: every other word occurs as often with a departure as with a
destination. Runs made with version 1 regenerate their data with it (`version=1`).
"""
from __future__ import annotations

import random
import re

from rnnlab.data.tagged import TaggedExample
from rnnlab.errors import ConfigError

CITIES = (
    "boston", "denver", "taipei", "atlanta", "dallas", "pittsburgh", "baltimore", "seattle", "chicago",
    "miami", "oakland", "phoenix", "toronto", "houston", "memphis",
    "new york", "san francisco", "los angeles", "salt lake city", "las vegas", "st. louis",
)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()


def _numeric_ordinal(n: int) -> str:
    return f"{n}{'th' if 11 <= n <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# ATIS writes day numbers as words ("twenty first"); "2nd" and the like are mixed in as well
DAY_NUMBERS = (tuple(_ORDINALS) + tuple(f"twenty {o}" for o in _ORDINALS[:9]) + ("thirtieth", "thirty first")
               + tuple(_numeric_ordinal(n) for n in range(1, 32)))
PERIODS = ("morning", "afternoon", "evening")

# Placeholders: {from} {to} cities; {ddate} {adate} "on <date>"; {dtime} {atime} a time phrase;
# {rt} "round trip"; {cheap} "cheapest". A trailing ? makes the part optional (drawn half the time).
TEMPLATES_V1: tuple[tuple[str, str], ...] = (  # version 1: phrasing and cue tied (see above)
    ("atis_flight", "i would like to arrive {to} {adate}"),
    ("atis_flight", "i would like to arrive in {to} {atime?}"),
    ("atis_flight", "i want to leave {from} {ddate}"),
    ("atis_flight", "i want to leave {from} {dtime?}"),
    ("atis_flight", "i need to fly from {from} to {to} {ddate?}"),
    ("atis_flight", "show me flights from {from} to {to} {dtime?}"),
    ("atis_flight", "show me flights to {to} from {from} {ddate?}"),
    ("atis_flight", "list flights leaving {from} {dtime?} and arriving in {to} {atime?}"),
    ("atis_flight", "what flights go to {to} {adate?}"),
    ("atis_flight", "what flights leave from {from} {ddate?}"),
    ("atis_flight", "{from} to {to} {ddate?}"),
    ("atis_flight", "i want to leave {from} {ddate?} and arrive in {to} {atime?}"),
    ("atis_flight", "flights arriving in {to} {adate?}"),
    ("atis_flight", "flights departing from {from} {dtime?}"),
    ("atis_airline", "which airlines fly from {from} to {to}"),
    ("atis_airline", "which airlines go to {to}"),
    ("atis_airfare", "how much is a {rt?} ticket from {from} to {to}"),
    ("atis_airfare", "what is the {cheap?} fare to {to} {adate?}"),
    ("atis_airfare", "what are the {cheap?} fares from {from} {ddate?}"),
    ("atis_airfare", "show me the {cheap?} fares leaving {from} and arriving in {to}"),
    ("atis_airfare", "what is the cost of a flight to {to} from {from}"),
)
INTENTS = tuple(sorted({intent for intent, _ in TEMPLATES_V1}))
VERSIONS = (1, 2)

# Version 2. Request phrasings take a verb cue, noun frames a prepositional / participle cue; a
# cue's variant k for destinations and for departures have the same shape, so the pair's other
# draws (dates, times, optional parts) are the same.
PHRASINGS = ("i would like to", "i want to", "i need to", "i wish to", "i have to")
NOUN_FRAMES: tuple[tuple[str, str], ...] = (
    ("atis_flight", "show me flights"), ("atis_flight", "list flights"), ("atis_flight", "what flights are there"),
    ("atis_flight", "flights"), ("atis_airline", "which airlines fly"), ("atis_airfare", "what is the {cheap?} fare"),
    ("atis_airfare", "how much is a {rt?} ticket"), ("atis_airfare", "show me the {cheap?} fares"),
)
VERB_CUES = {"to": ("arrive {to}", "fly to {to}"), "from": ("leave {from}", "fly from {from}")}
NOUN_CUES = {"to": ("to {to}", "arriving {to}"), "from": ("from {from}", "leaving {from}")}
# two cities: (the first city's cue, the joiner, the second's) for each frame kind
VERB_PAIRS = (("fly from {from}", "to {to}"), ("leave {from}", "and arrive {to}"))
NOUN_PAIRS = (("from {from}", "to {to}"), ("to {to}", "from {from}"), ("leaving {from}", "and arriving {to}"))
# the words that tell a departure from a destination; every other word is as often with either
CUE_WORDS = frozenset({"arrive", "arriving", "leave", "leaving", "to", "from"})
_TAILS = {"to": ("{adate?}", "{atime?}"), "from": ("{ddate?}", "{dtime?}")}
_SLOT = re.compile(r"\{(\w+)(\??)\}")


def is_city_tag(tag: str) -> bool:
    """True for the four tags that only context can choose between (B-/I- fromloc / toloc city)."""
    return tag.endswith(("fromloc.city_name", "toloc.city_name"))


def flight_corpus(n_train: int = 2000, n_valid: int = 300, n_test: int = 300, seed: int = 0, *,
                  version: int = 2) -> dict[str, list[TaggedExample]]:
    """{"train", "valid", "test"}: generated, tagged flight requests; identical for identical
    arguments. `version` 1: rnnlab 0.1's generator (phrasing tied to cue), kept for its runs."""
    if version not in VERSIONS:
        raise ConfigError(f"flight_corpus: version must be one of {VERSIONS}, got {version!r}")
    sizes = {"train": n_train, "valid": n_valid, "test": n_test}
    for split, n in sizes.items():
        if n < 1:
            raise ConfigError(f"flight_corpus: n_{split} must be >= 1, got {n}")
    make = _sentences_v1 if version == 1 else _sentences_v2
    return {split: make(n, random.Random(f"flights:{seed}:{split}")) for split, n in sizes.items()}


def _signature(template: str) -> tuple[bool, bool]:
    return "{from}" in template, "{to}" in template


_BY_SIGNATURE: dict[tuple[bool, bool], list[tuple[str, str]]] = {}
for _t in TEMPLATES_V1:
    _BY_SIGNATURE.setdefault(_signature(_t[1]), []).append(_t)


def _sentences_v1(n: int, rng: random.Random) -> list[TaggedExample]:
    out: list[TaggedExample] = []
    while len(out) < n:
        intent, template = rng.choice(TEMPLATES_V1)
        has_from, has_to = _signature(template)
        a, b = rng.sample(CITIES, 2)
        mirror_intent, mirror = rng.choice(_BY_SIGNATURE[(has_to, has_from)])  # roles swapped
        if has_from and has_to:
            pair = [(intent, template, a, b), (mirror_intent, mirror, b, a)]
        else:  # the one city goes to the only role each sentence has
            pair = [(intent, template, a, a), (mirror_intent, mirror, a, a)]
        out.extend(_fill(rng, i, t, origin, dest) for i, t, origin, dest in pair)
    out = out[:n]
    rng.shuffle(out)
    return out


def _sentences_v2(n: int, rng: random.Random) -> list[TaggedExample]:
    out: list[TaggedExample] = []
    while len(out) < n:
        verb = rng.random() < 0.5
        intent, frame = ("atis_flight", rng.choice(PHRASINGS)) if verb else rng.choice(NOUN_FRAMES)
        tail = rng.randrange(2)  # a date or a time phrase, of the role of the city before it
        draws = rng.getrandbits(64)  # the pair's shared draws: dates, times, optional parts
        if rng.random() < 0.5:  # one city, once as destination and once as departure
            k, city = rng.randrange(2), rng.choice(CITIES)
            cues = VERB_CUES if verb else NOUN_CUES
            pair = [(f"{frame} {cues[role][k]} {_TAILS[role][tail]}", city, city) for role in ("to", "from")]
        else:  # two cities, then the same sentence with the cities swapped
            first, second = rng.choice(VERB_PAIRS if verb else NOUN_PAIRS)
            role = "to" if "{to}" in second else "from"
            template = f"{frame} {first} {second} {_TAILS[role][tail]}"
            a, b = rng.sample(CITIES, 2)
            pair = [(template, a, b), (template, b, a)]
        out.extend(_fill(random.Random(draws), intent, t, origin, dest) for t, origin, dest in pair)
    out = out[:n]
    rng.shuffle(out)
    return out


def _fill(rng: random.Random, intent: str, template: str, origin: str, dest: str) -> TaggedExample:
    words: list[str] = []
    tags: list[str] = []

    def add(phrase: str, label: str | None) -> None:
        for k, w in enumerate(phrase.split()):
            words.append(w)
            tags.append("O" if label is None else f"{'B' if k == 0 else 'I'}-{label}")

    for piece in template.split():
        m = _SLOT.fullmatch(piece)
        if m is None:
            add(piece, None)
            continue
        name, optional = m.group(1), m.group(2) == "?"
        if optional and rng.random() < 0.5:
            continue
        if name == "from":
            add(origin, "fromloc.city_name")
        elif name == "to":
            add(dest, "toloc.city_name")
        elif name in ("ddate", "adate"):
            role = "depart" if name == "ddate" else "arrive"
            add("on", None)
            if rng.random() < 0.25:
                add(rng.choice(WEEKDAYS), f"{role}_date.day_name")
            else:
                add(rng.choice(MONTHS), f"{role}_date.month_name")
                add(rng.choice(DAY_NUMBERS), f"{role}_date.day_number")
        elif name in ("dtime", "atime"):
            role = "depart" if name == "dtime" else "arrive"
            if rng.random() < 0.5:
                add("in the", None)
                add(rng.choice(PERIODS), f"{role}_time.period_of_day")
            else:
                add(rng.choice(("before", "after")), f"{role}_time.time_relative")
                add(f"{rng.randint(1, 12)} {rng.choice(('am', 'pm'))}", f"{role}_time.time")
        elif name == "rt":
            add("round trip", "round_trip")
        elif name == "cheap":
            add("cheapest", "cost_relative")
        else:
            raise AssertionError(f"unknown placeholder {name!r}")
    return TaggedExample(words, tags, intent)
