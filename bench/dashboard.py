"""First launch and steady use of the dashboard, measured in a real browser on a fresh machine.

    .venv/bin/python bench/dashboard.py            # about 2-3 minutes on 2 idle cores; prints a Markdown section
    .venv/bin/python bench/dashboard.py --write    # also rewrites that section of bench/README.md

"Fresh machine" means empty workspaces and model-cache folders: the page's first open converts the embedded
GGUF model, builds the default workspace and explains every centroid. The server runs on at most 2 cores
(`taskset` when the machine has more). Memory is the server's peak RSS: the kernel's VmHWM, reset between
phases through /proc/PID/clear_refs, and a 50 ms sampler over the server's process tree as a cross-check.

Phases: (1) first launch, from `page.goto` to the first chips on screen; (2) steady use in that same process:
example sentences, a chip click, a long text, the centroid browser and a map click, the cache page; (3) a
restart on the built workspace (a later launch), then the same steady use.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402
from sections import write_section  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
SECTION = "dashboard-bench"  # its part of bench/README.md (bench/sections.py)
LIMITS = {"first_s": 60.0, "first_mb": 1500.0, "steady_mb": 1100.0}
LONG_TEXT = " ".join(
    "The history of science is largely a history of ideas, and of the instruments that tested them." for _ in range(20)
)


def tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def cpu_seconds(pid: int, waited_children: bool = True) -> float:
    """User + system CPU time of a process (and of its children it waited for), from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields[11 : 15 if waited_children else 13]]
    return sum(ticks) / os.sysconf("SC_CLK_TCK")


def client_cpu_seconds(server: int) -> float:
    """CPU time so far of everything this script started but the server: browser, Playwright driver, itself."""
    skip = set(tree(server))
    return sum(cpu_seconds(p, waited_children=False) for p in tree(os.getpid()) if p not in skip)


def status_mb(pid: int, field_name: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Memory:
    """Peak RSS of the server's process tree, sampled, and the server's own VmHWM."""

    pid: int
    sampled: float = 0.0
    stop: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Memory:
        def run() -> None:
            while not self.stop:
                self.sampled = max(self.sampled, sum(status_mb(p, "VmRSS") for p in tree(self.pid)))
                time.sleep(0.05)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def reset(self) -> None:
        """Start a new phase: the kernel's peak goes back to the current RSS."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.sampled = 0.0

    def peak(self) -> float:
        return max(self.sampled, status_mb(self.pid, "VmHWM"))

    def close(self) -> None:
        self.stop = True


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    if (os.cpu_count() or 1) > 2 and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0,1", *cmd]
    with log.open("wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the dashboard did not become healthy")


def idle(page: Page, timeout: float = 300_000) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def open_until_chips(page: Page, url: str) -> float:
    """Seconds from opening the page to the first chips. The browser waits by itself: polling the page from
    here would load the cores the build runs on, which no user does."""
    t0 = time.perf_counter()
    page.goto(url)
    failed = "[data-testid='stException'], [data-testid='stAlertContentError']"  # a traceback, or st.error
    page.wait_for_selector(f".ai-chip, {failed}", timeout=1_800_000)
    if not page.locator(".ai-chip").count():
        sys.exit("the page showed an error instead of chips:\n" + page.locator(failed).first.inner_text())
    return time.perf_counter() - t0


def first_launch_stages(log: Path) -> list[str]:
    """The stage lines the first launch printed to the server log (app.py's StageLog), as the page showed them."""
    mark = "first launch: "
    return [line.split(mark, 1)[1] for line in log.read_text(errors="replace").splitlines() if mark in line]


def steady_use(page: Page, url: str) -> None:
    """What a user does in the first minutes: every page, every main interaction (the fidelity overlay on a
    long text and a Steer run included)."""
    idle(page)
    picker = page.locator("[data-testid='stSelectbox']").filter(has_text="Example sentences")
    for example in ("In 1969, Neil Armstrong", "Aristotle argued", "If it rains tomorrow"):
        picker.click()
        page.get_by_role("option").filter(has_text=example).click()
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=example.split()[-1], timeout=120_000)
        idle(page)
    page.locator(".ai-chip").nth(2).click()
    page.get_by_role("link", name="Open in the centroid browser").wait_for(timeout=120_000)
    box = page.get_by_role("textbox", name="Text to analyse")
    box.fill(LONG_TEXT)
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_function("() => document.querySelectorAll('.ai-chip').length > 300", timeout=300_000)
    idle(page)
    page.get_by_text("Fidelity overlay").click()  # four more passes over the long text
    page.locator(".stPlotlyChart .heatmaplayer").wait_for(timeout=300_000)
    idle(page)
    page.goto(f"{url}/centroids")
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=300_000)
    idle(page)
    page.locator(".stPlotlyChart g.trace.scatter path.point").nth(5).click(force=True)
    page.wait_for_timeout(1000)
    idle(page)
    page.get_by_label("Prompt").fill("The history of the city")
    page.get_by_role("button", name="Steer").click()
    page.get_by_text("Without the direction").wait_for(timeout=300_000)
    idle(page)
    page.goto(f"{url}/cache")
    page.get_by_text("Cache review").first.wait_for(timeout=300_000)
    idle(page)
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=300_000)
    idle(page)


@dataclass
class Result:
    first_s: float
    first_mb: float
    steady_mb: float
    first_cpu_s: float  # the server's CPU time until then: on 2 idle cores the wall time is at least half of it
    client_cpu_s: float  # the browser's, Playwright's and this script's CPU time meanwhile, on the same cores
    later_s: float
    later_mb: float
    stages: list[str]
    load: tuple[str, str]
    steady_start_mb: tuple[float, float]  # the server's RSS when steady use begins: first launch, later launch


def measure(keep: Path | None) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="autointerp-dash-"))
    env = {
        **os.environ,
        "AUTOINTERP_WORKSPACES": str(tmp / "workspaces"),
        "AUTOINTERP_CACHE": str(tmp / "cache"),
        "HF_HUB_OFFLINE": "1",
    }
    load_before = Path("/proc/loadavg").read_text().split()[0]
    stages: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            runs, starts = [], []
            for _ in range(2):  # a fresh machine, then a later launch on what it built
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                url = f"http://127.0.0.1:{port}"
                log = tmp / f"server-{len(runs)}.log"
                proc = serve(env, port, log)
                mem = Memory(proc.pid).start()
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                try:
                    others = client_cpu_seconds(proc.pid)
                    opened = open_until_chips(page, url)
                    launch_mb, launch_cpu = mem.peak(), cpu_seconds(proc.pid)
                    others = client_cpu_seconds(proc.pid) - others
                    if not runs:
                        stages = first_launch_stages(log)
                    mem.reset()
                    starts.append(status_mb(proc.pid, "VmRSS"))
                    steady_use(page, url)
                    runs.append((opened, launch_mb, mem.peak(), launch_cpu, others))
                finally:
                    page.close()
                    mem.close()
                    proc.terminate()
                    proc.wait(timeout=30)
            browser.close()
    finally:
        if keep is not None:
            shutil.copytree(tmp / "workspaces", keep, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
    (first_s, first_mb, steady_mb, first_cpu, client_cpu), (later_s, _, later_mb, _, _) = runs
    load_after = Path("/proc/loadavg").read_text().split()[0]
    return Result(
        first_s,
        first_mb,
        steady_mb,
        first_cpu,
        client_cpu,
        later_s,
        later_mb,
        stages,
        (load_before, load_after),
        (starts[0], starts[1]),
    )


def section(r: Result) -> str:
    ok = {
        "first_s": r.first_s <= LIMITS["first_s"],
        "first_mb": r.first_mb <= LIMITS["first_mb"],
        "steady_mb": max(r.steady_mb, r.later_mb) <= LIMITS["steady_mb"],
    }
    mark = {True: "✅", False: "❌"}
    stages = "\n".join(f"  - {s}" for s in r.stages) or "  - (not captured)"
    return "\n".join(
        [
            "## Dashboard: first launch and memory",
            "",
            f"`bench/dashboard.py`, last run on {machine_line()}, {min(os.cpu_count() or 1, 2)} cores for the server, "
            f"load average {r.load[0]} before and {r.load[1]} after (other work on the machine slows every number).",
            "",
            "| measure | result | target |",
            "|---|---|---|",
            f"| page open → interactive, fresh machine (model conversion, build, explain all) | {r.first_s:.0f} s "
            f"| ≤ {LIMITS['first_s']:.0f} s {mark[ok['first_s']]} |",
            f"| server CPU time until then (user + system) | {r.first_cpu_s:.0f} s, so ≥ {r.first_cpu_s / 2:.0f} s "
            "of wall time on 2 idle cores | — |",
            f"| browser, Playwright and this script meanwhile, on the same cores (processes alive at the end) "
            f"| {r.client_cpu_s:.0f} s of CPU | — |",
            f"| server peak memory during that first launch | {r.first_mb:,.0f} MB "
            f"| ≤ {LIMITS['first_mb']:,.0f} MB {mark[ok['first_mb']]} |",
            f"| server memory when steady use begins: after the first launch / after a later launch "
            f"| {r.steady_start_mb[0]:,.0f} MB / {r.steady_start_mb[1]:,.0f} MB | — |",
            f"| server peak memory in steady use, same process | {r.steady_mb:,.0f} MB "
            f"| ≤ {LIMITS['steady_mb']:,.0f} MB {mark[ok['steady_mb']]} |",
            f"| page open → interactive, later launch | {r.later_s:.0f} s | — |",
            f"| server peak memory in steady use after a later launch | {r.later_mb:,.0f} MB "
            f"| ≤ {LIMITS['steady_mb']:,.0f} MB |",
            "",
            "Stages of the first launch, as the page showed them:",
            "",
            stages,
            "",
            "Steady use: three example sentences, a chip click, a 400-token text with the fidelity overlay on, the "
            "centroid browser with a map click and a Steer run, the cache page, and back. Peak memory is the "
            "server's VmHWM (reset between phases) or the sampled RSS of its process tree, whichever is higher.",
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"rewrite the section of {README.relative_to(ROOT)}")
    ap.add_argument("--keep", type=Path, help="copy the built workspaces here afterwards")
    a = ap.parse_args()
    text = section(measure(a.keep))
    print(text)
    if a.write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
