#!/usr/bin/env python3
"""The original aws-ecs-monitor classifier as a plain Python loop, for comparison.

Usage:
  baseline.py CORPUS.log            throughput (MB/s) of the loop over a log file
  baseline.py --accuracy CASES.tsv  how often the original's rules agree with labelled cases

The rules follow the original script: first match wins in
the order structured_error, panic, fatal, error, python_traceback, exception, http_5xx (Gin's
pipe format only), timeout, connection_error, oom (unanchored OOM), auth_error; health
checks recognised only as Gin's `(HEAD|GET) "/health`.
"""
import re
import sys
import time

RULES = [
    ("structured_error", re.compile(r'"(?:level|severity)"\s*:\s*"(?:error|fatal|critical)"', re.I)),
    ("panic", re.compile(r"\bpanic\b|goroutine \d+ \[", re.I)),
    ("fatal", re.compile(r"\bfatal\b|\bcritical\b", re.I)),
    ("error", re.compile(r"\berror\b|\[error\]|level=error|\bERR\b", re.I)),
    ("python_traceback", re.compile(r"Traceback \(most recent call last\)|File \".*\", line \d+")),
    ("exception", re.compile(r"exception|\tat [\w.$]+\(", re.I)),
    ("http_5xx", re.compile(r"\|\s*5\d\d\s*\|")),
    ("timeout", re.compile(r"timeout|timed out|deadline exceeded", re.I)),
    ("connection_error", re.compile(r"connection refused|connection reset|ECONNREFUSED|ECONNRESET|no such host|broken pipe", re.I)),
    ("oom", re.compile(r"OOM|out of memory|OutOfMemory|Killed process")),
    ("auth_error", re.compile(r"unauthori[sz]ed|forbidden|access denied|AccessDenied|permission denied|\b401\b|\b403\b", re.I)),
]
HEALTH = re.compile(r'(?:HEAD|GET)\s+"/health')
GIN_STATUS = re.compile(r"\|\s*(\d{3})\s*\|")


def classify(line):
    """(category or None, health_noise, status or None), as the original decided."""
    if HEALTH.search(line):
        return None, True, None
    m = GIN_STATUS.search(line)
    status = int(m.group(1)) if m else None
    for name, rx in RULES:
        if rx.search(line):
            return name, False, status
    return None, False, status


def throughput(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    size = sum(len(l.encode("utf-8")) + 1 for l in lines)
    counts = {}
    best = None
    for _ in range(3):
        start = time.perf_counter()
        for line in lines:
            category, noise, _status = classify(line)
            if category:
                counts[category] = counts.get(category, 0) + 1
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    print(
        f"python baseline: {len(lines)} lines, {size / 1e6:.1f} MB, "
        f"{size / 1e6 / best:.1f} MB/s, {best * 1e9 / len(lines):.0f} ns/line (best of 3)"
    )


def accuracy(path):
    right = total = 0
    for raw in open(path, encoding="utf-8"):
        raw = raw.rstrip("\n")
        if not raw or raw.startswith("#"):
            continue
        # LABEL<TAB>EVENT, and in real.tsv a third column: the line's source.
        label, event = raw.split("\t")[:2]
        event = event.replace("\u21b5", "\n").replace("\u2192", "\t")
        category, noise, _ = classify(event)
        got = "noise" if noise else (category or "-")
        total += 1
        right += got == label
    print(f"original rules: {right}/{total} right ({100.0 * right / total:.1f} %) on {path}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--accuracy":
        accuracy(sys.argv[2])
    elif len(sys.argv) == 2:
        throughput(sys.argv[1])
    else:
        sys.exit(__doc__)
