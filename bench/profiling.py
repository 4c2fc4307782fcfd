"""Sampling a running process with py-spy, and its functions ranked by own samples."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from services.common.processes import ROOT


def py_spy() -> str | None:
    """The py-spy executable: the project environment's, else one on PATH; None if absent."""
    beside = Path(sys.executable).parent / "py-spy"
    for candidate in (beside, ROOT / ".venv" / "bin" / "py-spy"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("py-spy")


def own_samples(collapsed: str) -> Counter[str]:
    """Samples per leaf frame from py-spy's raw (collapsed) output: `a (f);b (g) 12` per line."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            counts[stack.rsplit(";", 1)[-1]] += int(samples)
    return counts


async def record(executable: str, pid: int, seconds: float) -> str:
    """Run `py-spy record` on `pid` for `seconds` (samples holding the GIL); its raw output, or
    raise with its error."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "profile.txt"
        process = await asyncio.create_subprocess_exec(
            *(executable, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))),
            # Only samples holding the GIL: threads blocked in a socket's recv (with a timeout)
            # would otherwise count as running.
            *("--gil", "--format", "raw", "--nolineno", "--output", str(output)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        said, _ = await process.communicate()
        if process.returncode != 0 or not output.exists():
            raise RuntimeError(said.decode(errors="replace").strip()[-500:])
        return output.read_text()


async def top_functions(pid: int, seconds: float, *, top: int = 15) -> list[str]:
    """Lines ranking the `top` functions of process `pid` by own samples over `seconds`."""
    executable = py_spy()
    if executable is None:
        return ["py-spy is not installed: no profile"]
    try:
        counts = own_samples(await record(executable, pid, seconds))
    except RuntimeError as error:
        return [f"py-spy failed: {error}"]
    total = sum(counts.values())
    lines = [
        f"{total} samples holding the GIL over {seconds:.0f} s (py-spy pauses the process"
        " to sample it: that minute's latencies include the pauses)"
    ]
    for frame, samples in counts.most_common(top):
        lines.append(f"{samples:7d} {samples / max(total, 1) * 100:5.1f}%  {frame}")
    return lines
