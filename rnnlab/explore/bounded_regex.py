"""Regular expressions from users, matched under a time limit in worker processes.

    matcher = RegexMatcher(seconds=1.0, workers=2)
    matcher.spans("(a+)+$", ["aaaaX", "ab"])     # → [[(0, 4)], [(0, 1)]]... or DataError when late
    matcher.close()

Python's `re` cannot be interrupted and holds the GIL while matching, so one catastrophically
backtracking pattern (`(a+)+$` on "aaaa…X" doubles its time per letter) would stall every thread
of the explorer's server and Ctrl-C with it. Any pattern is allowed — restricting the syntax would
refuse normal expressions — but it runs in `regex_worker.py`, a standard-library-only process;
a worker that has not answered within `seconds` is killed and the request gets a `DataError`.
At most `workers` patterns run at once; a request waits up to `seconds` for a free worker.
"""
from __future__ import annotations

import json
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path

from rnnlab.errors import DataError

WORKER = Path(__file__).with_name("regex_worker.py")


class RegexMatcher:
    """Runs `re.finditer` for untrusted patterns in killable worker processes (see the module doc).

    `spans(pattern, texts)` returns, for each text, the (start, end) character spans of its
    non-empty matches; it raises `DataError` for a pattern that does not compile or does not
    finish within `seconds` (all texts together).
    """

    def __init__(self, seconds: float = 1.0, workers: int = 2):
        self.seconds = seconds
        self._slots = threading.BoundedSemaphore(workers)
        self._idle: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        self._closed = False

    def spans(self, pattern: str, texts: list[str]) -> list[list[tuple[int, int]]]:
        if not self._slots.acquire(timeout=self.seconds):
            raise DataError("too many regular expressions are being matched at once; try again")
        try:
            worker = self._take()
            deadline = time.monotonic() + self.seconds  # from here: starting a worker is not the pattern's time
            answer = self._ask(worker, {"pattern": pattern, "texts": texts, "seconds": self.seconds}, deadline)
            if answer is None:  # late or dead: it may still be backtracking, so it is never reused
                _kill(worker)
                raise DataError(f"the regular expression {pattern!r} took longer than {self.seconds:g} s and was "
                                f"stopped; nested quantifiers such as (a+)+ backtrack exponentially — simplify it")
            self._give_back(worker)
        finally:
            self._slots.release()
        if "error" in answer:
            raise DataError(f"bad regular expression {pattern!r}: {answer['error']}")
        return [[(a, b) for a, b in text_spans] for text_spans in answer["spans"]]

    def _take(self) -> subprocess.Popen:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.poll() is None:
                    return worker
        # -I -S: no user site, no environment, no site-packages — the worker needs only the standard library
        return subprocess.Popen([sys.executable, "-I", "-S", str(WORKER)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def _give_back(self, worker: subprocess.Popen) -> None:
        with self._lock:
            if self._closed:
                _kill(worker)
            else:
                self._idle.append(worker)

    @staticmethod
    def _ask(worker: subprocess.Popen, request: dict, deadline: float) -> dict | None:
        """The worker's answer, or None when it is not complete by `deadline` (or the worker died)."""
        try:
            worker.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            worker.stdin.flush()
        except OSError:
            return None
        received = b""
        with selectors.DefaultSelector() as selector:
            selector.register(worker.stdout, selectors.EVENT_READ)
            while not received.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = worker.stdout.read1(1 << 20)
                if not chunk:
                    return None
                received += chunk
        return json.loads(received)

    def close(self) -> None:
        """Ends the idle workers (a busy one is killed when its answer comes or is late)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            _kill(worker)


def _kill(worker: subprocess.Popen) -> None:
    worker.kill()
    worker.wait()
    for stream in (worker.stdin, worker.stdout):
        try:
            stream.close()
        except OSError:
            pass
