"""Spoken-digit recordings on disk (the Free Spoken Digit Dataset layout) and their splits.

    recordings = read_digit_dir("../shared/data/fsdd")     # [Recording(path, digit, speaker, take)]
    splits = digit_splits(recordings, "own")               # {"train", "valid", "test"}: lists

Files are `{digit}_{speaker}_{take}.wav`, in DIR or DIR/recordings. Splits:

- "own": the dataset's own — takes 0–4 of every speaker and digit are test; takes 5–9 are held out
  of the rest as validation (model selection never sees test), the others train;
- "speaker:NAME": speaker-independent — all of NAME's recordings are test; takes 0–4 of the other
  speakers are validation, the rest train.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple, Sequence

from rnnlab.errors import ConfigError, DataError, DataNotFoundError

NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")


class Recording(NamedTuple):
    path: str
    digit: str
    speaker: str
    take: int


def read_digit_dir(directory: str | Path) -> list[Recording]:
    """Every `{digit}_{speaker}_{take}.wav` in `directory` (or its recordings/), sorted by name."""
    root = Path(directory)
    if (root / "recordings").is_dir():
        root = root / "recordings"
    if not root.is_dir():
        raise DataNotFoundError(f"no spoken-digit directory at {directory}")
    found = []
    for path in sorted(root.glob("*.wav")):
        m = NAME.match(path.name)
        if m:
            found.append(Recording(str(path), m.group(1), m.group(2), int(m.group(3))))
    if not found:
        raise DataError(f"{root}: no files named like 0_speaker_0.wav")
    return found


def speakers_of(recordings: Sequence) -> list[str]:
    return sorted({r.speaker for r in recordings})


def digit_splits(recordings: Sequence, split: str) -> dict[str, list]:
    """{"train", "valid", "test"} by the rules in the module docstring; works on anything with
    `speaker` and `take` fields (recordings on disk or generated clips)."""
    if split == "own":
        test = [r for r in recordings if r.take < 5]
        valid = [r for r in recordings if 5 <= r.take < 10]
        train = [r for r in recordings if r.take >= 10]
    elif split.startswith("speaker:"):
        held = split.split(":", 1)[1]
        if held not in speakers_of(recordings):
            raise ConfigError(f"split {split!r}: no speaker {held!r}; speakers: {', '.join(speakers_of(recordings))}")
        test = [r for r in recordings if r.speaker == held]
        valid = [r for r in recordings if r.speaker != held and r.take < 5]
        train = [r for r in recordings if r.speaker != held and r.take >= 5]
    else:
        raise ConfigError(f"split must be 'own' or 'speaker:NAME', got {split!r}")
    if not train or not valid or not test:
        raise DataError(f"split {split!r} leaves an empty split (train {len(train)}, valid {len(valid)}, "
                        f"test {len(test)}): need takes 0–10 and more of each digit")
    return {"train": train, "valid": valid, "test": test}
