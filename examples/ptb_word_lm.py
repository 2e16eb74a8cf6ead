"""Zaremba, Sutskever & Vinyals (2014), "small" PTB word language model, reproduced with rnnlab.

2 layers x 200 LSTM units, no dropout, batch 20, 20-step truncated BPTT with the state carried,
weights U(-0.1, 0.1), SGD at lr 1 halved every epoch after the 4th, gradient norm clipped at 5,
13 epochs. Published perplexity: valid 120.7, test 114.5. About half an hour on 2 CPU cores.

    python examples/ptb_word_lm.py --data ../shared/data/ptb [--out runs/ptb-small]

It is `rnnlab train --preset ptb-small --data DIR`; see rnnlab/recipes/presets.py for the preset.
The data is Mikolov's PTB (ptb.train.txt, ptb.valid.txt, ptb.test.txt); it is not shipped.
"""
from __future__ import annotations

import argparse
import sys
import time

from rnnlab.cli.main import main as rnnlab


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="directory with ptb.{train,valid,test}.txt")
    ap.add_argument("--out", default="runs/ptb-small", help="run directory")
    ap.add_argument("--overwrite", action="store_true")
    args, extra = ap.parse_known_args(argv)  # extra flags go to `rnnlab train` (e.g. --epochs 1)
    started = time.time()
    code = rnnlab(["train", "--preset", "ptb-small", "--data", args.data, "--out", args.out,
                   *(["--overwrite"] if args.overwrite else []), *extra])
    print(f"wall time {(time.time() - started) / 60:.1f} min; test perplexity: `rnnlab eval {args.out}`", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
