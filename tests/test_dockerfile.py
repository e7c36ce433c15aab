"""The container image: the dashboard does not run as root (no Docker daemon here, so the file itself is checked)."""

from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def test_the_container_runs_as_a_user_that_owns_the_data_volume():
    lines = [ln.strip() for ln in DOCKERFILE.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    users = [i for i, ln in enumerate(lines) if ln.startswith("USER ")]
    assert users, "no USER line: the container runs as root"
    last = users[-1]
    assert lines[last].split()[1] not in ("root", "0")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("CMD "))
    assert last < start  # the start command runs as that user
    assert not any(ln.startswith("RUN ") for ln in lines[last:])  # nothing after it needs root
    assert any("chown" in ln and "/data" in ln for ln in lines[:last])  # and it can write its volume
