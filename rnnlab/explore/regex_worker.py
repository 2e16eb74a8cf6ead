"""The process that runs user regular expressions for the explorer (see `bounded_regex.py`).

Run as a script (`python -I -S regex_worker.py`), so it imports only the standard library, never
rnnlab or torch. Reads one JSON request per line on stdin — {"pattern": str, "texts": [str, ...],
"seconds": float} — and answers one JSON line on stdout: {"spans": [[[start, end], ...] per
text]} (non-empty matches only) or {"error": "..."} for a pattern that does not compile.

Python's `re` holds the GIL while it matches and cannot be interrupted, so a backtracking pattern
such as `(a+)+$` would stall every thread of the server: here it stalls only this process, which
the server kills when its answer is late. In case the server itself is gone (kill -9), an alarm
per request ends this process with SIGALRM's default action, which no regex can delay.
"""
import json
import math
import re
import signal
import sys


def spans(pattern: str, texts: list) -> list:
    regex = re.compile(pattern)
    return [[m.span() for m in regex.finditer(text) if m.end() > m.start()] for text in texts]


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which then closes our stdin
    for line in sys.stdin:
        request = json.loads(line)
        signal.alarm(math.ceil(request["seconds"]) + 2)  # the server kills us sooner; this is the backstop
        try:
            answer = {"spans": spans(request["pattern"], request["texts"])}
        except re.error as e:
            answer = {"error": str(e)}
        except RecursionError:
            answer = {"error": "the pattern is nested too deeply"}
        signal.alarm(0)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
