"""What a bench table names as its machine: the CPU, and one core's float32 and bf16 matmul peaks as
measured here (machines of one kind differ: one measured float32 peak was twice another's)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """The CPU (family and model, which tell Zen 4 from Zen 5) and its measured peaks, for a table's header."""
    from autointerp.core.search import _machine_key, kernel_rates

    rates = kernel_rates()
    return (
        f"{_machine_key()}; one core's measured matmul peaks (core.search's start-up timing): float32 "
        f"{rates.f32:.0f} GFLOP/s, bf16 {rates.bf16:.0f} GFLOP/s"
    )
