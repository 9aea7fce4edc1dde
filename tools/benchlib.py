"""What the benchmark tools (tools/bench, tools/bench-sched) share: a quiet boot through tools/run-vm
into build/logs/NAME.log, and a plain-text table."""

import re
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_vm(name, args):
    """Runs `tools/run-vm --quiet --emulator bochs --name NAME ARGS...` with its console in
    build/logs/NAME.log; returns (exit status, console text, log path, wall seconds)."""
    log = ROOT / "build" / "logs" / f"{name}.log"
    log.unlink(missing_ok=True)  # a run-vm that fails early must not leave an old run's figures to read
    start = time.monotonic()
    r = subprocess.run([str(ROOT / "tools" / "run-vm"), "--quiet", "--emulator", "bochs", "--name", name,
                        "--log", str(log), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    return r.returncode, log.read_text(errors="replace") if log.exists() else "", log, seconds


def table(header, rows):
    """Columns padded to their widest cell; numbers (and lists of them) right-aligned, text left-aligned."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).rjust(w) if re.fullmatch(r"[\d. ]+", str(cell)) else str(cell).ljust(w)
                        for cell, w in zip(row, widths)).rstrip())
