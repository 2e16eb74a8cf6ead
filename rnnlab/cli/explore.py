"""`rnnlab explore RUN_DIR`: look inside a trained language model or tagger in a web page (like LSTMVis).

The examples of a language model come from, in this order of precedence:

    --text FILE       the file's text
    --dataset NAME    lines of a generated memory task (rnnlab.datasets.synthetic), with its hypotheses
                      (`--task NAME` is the old spelling, still accepted)
    (default)         the run's own validation text (the built-in corpus is regenerated from options)

Text is split into examples, each recorded from a fresh state: on blank lines (paragraphs), or,
for a text without blank lines (a sentence per line, as in PTB), one example per line. An example
longer than --max-tokens is cut into pieces of that length; the first --examples are shown.

A tagging run (`rnnlab train --task tagging`) shows its validation sentences with their gold tags
and intents beside the predicted ones, or with --text FILE one sentence per line (words split on
whitespace, no gold tags); a sentence longer than --max-tokens is cut. Other runs (classify,
seq2seq) are refused: a recipe supports explore by implementing `Recipe.explorer`.

With --export the page is written as one self-contained HTML file instead of being served.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

from rnnlab.errors import ConfigError
from rnnlab.recipes.recipe import ExploreRequest
from rnnlab.recipes.registry import recipe_of
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.device import add_device_flag, load_on


def register(subparsers, argv=()) -> None:
    p = subparsers.add_parser(
        "explore", help="look inside a trained model: its units and gates as coloured text in a web page",
        description="Record every unit's hidden state, cell state and gates on some text, and serve a page "
                    "to look at them: colour the text by any unit, find units that track a hypothesis, "
                    "select a span and find where the same units turn on, see gate saturation. Works on "
                    "language-model and tagging runs (a tagger's page shows its predicted and gold tags).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--text", metavar="FILE", help="explore this UTF-8 text (split on blank lines, "
                        "or per line if it has none; a tagger: one sentence per line; default: the run's "
                        "validation text)")
    source.add_argument("--dataset", metavar="NAME", action=_Dataset, help="explore lines of a generated memory "
                        "task: counting, selective-counting, start-symbol or copy (with the task's hypotheses; "
                        "language models only)")
    source.add_argument("--task", dest="dataset", metavar="NAME", action=_Dataset, help=argparse.SUPPRESS)
    p.add_argument("--examples", type=int, default=20, metavar="N", help="examples to record and show (default 20)")
    p.add_argument("--max-tokens", type=int, default=1000, metavar="N", help="longer examples are cut into pieces (default 1000)")
    p.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765; 0 = any free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.add_argument("--export", metavar="PAGE.html", help="write one self-contained HTML file and exit (no server)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    add_device_flag(p)
    p.set_defaults(func=run)


@torch.no_grad()  # restores the caller's grad mode: the CLI can be called from Python
def run(args: argparse.Namespace) -> int:
    if args.examples < 1 or args.max_tokens < 2:
        raise ConfigError("--examples must be >= 1 and --max-tokens >= 2")
    if not 0 <= args.port <= 65535:  # before the model is loaded
        raise ConfigError(f"--port must be from 0 to 65535 (0 = any free one), got {args.port}")
    from rnnlab.explore.hosts import is_loopback
    from rnnlab.explore.http import make_server, url_of
    run_dir = RunDir(args.run_dir)
    recipe, config = recipe_of(run_dir)
    if not recipe.can_explore():  # before loading: the weights may not even fit
        raise ConfigError(f"rnnlab explore supports language models and taggers; {run_dir.path} is a "
                          f"{config['options'].get('task')!r} run")
    request = ExploreRequest(text=args.text, dataset=args.dataset, flag=getattr(args, "dataset_flag", "--dataset"),
                             examples=args.examples, max_tokens=args.max_tokens)
    explorer = recipe.explorer(load_on(recipe, run_dir, args.weights, args.device), request)

    if args.export:
        from rnnlab.explore.export import export_page
        path = export_page(explorer, args.export, title=f"rnnlab explorer: {run_dir.path.name}")
        print(f"rnnlab explore: wrote {path} ({path.stat().st_size / 1e6:.1f} MB); open it in a browser", file=sys.stderr)
        return 0

    try:
        server = make_server(explorer, args.host, args.port)
    except (OSError, OverflowError) as e:
        raise ConfigError(f"cannot serve on {args.host}:{args.port} ({getattr(e, 'strerror', None) or e}); "
                          f"choose another --host or --port (0 = any free one)") from None
    url = url_of(server)
    if not is_loopback(args.host):
        names = sorted(h for h in server.allowed_hosts if not is_loopback(h.rsplit(":", 1)[0].strip("[]")))
        print(f"rnnlab explore: warning: serving on {args.host}: anyone who can reach this machine can see the "
              f"page and run the model on their text. Requests must still name this server as one of "
              f"{', '.join(names)} (or localhost): other names are refused against DNS rebinding, so open it "
              f"by one of these, not by an alias", file=sys.stderr)
    print(f"rnnlab explore: serving {url}  (Ctrl-C stops)", flush=True)
    if not args.no_browser and _has_display():
        import webbrowser
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("rnnlab explore: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


class _Dataset(argparse.Action):
    """Stores --dataset NAME, and how the user spelled it (--task, the old name, in old command lines)."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.dataset = values
        namespace.dataset_flag = option_string


def _has_display() -> bool:
    """A graphical browser can open (else `webbrowser` may start a text browser in this terminal)."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
