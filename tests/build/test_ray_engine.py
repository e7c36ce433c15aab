"""The Ray backend on a local 2-worker Ray instance must match the single-process build."""

import numpy as np
import pytest
import torch

from autointerp.config import RunOptions

ray = pytest.importorskip("ray", reason="optional backend: pip install -r requirements-ray.txt")

from autointerp.workspace import Workspace, build_workspace  # noqa: E402


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_build_matches_single_process(ray_local, tiny_config, tiny_model, tmp_path):
    local = Workspace.open(build_workspace(tiny_config, tmp_path / "local", options=RunOptions(model=tiny_model)))
    dist = Workspace.open(
        build_workspace(tiny_config, tmp_path / "ray", options=RunOptions(model=tiny_model, backend="ray", workers=2))
    )
    assert dist.info.backend == "ray" and local.info.backend == "local"
    assert torch.allclose(local.center, dist.center, atol=1e-5)
    assert torch.allclose(local.centroids, dist.centroids, atol=1e-4)
    for split in ("val", "heldout"):
        a, b = local.splits[split].index.records, dist.splits[split].index.records
        assert len(a) == len(b)
        assert np.array_equal(np.asarray(a.window), np.asarray(b.window))
        assert np.array_equal(np.asarray(a.pos), np.asarray(b.pos))
        assert (np.asarray(a.cluster) == np.asarray(b.cluster)).mean() >= 0.999
        assert np.allclose(np.asarray(a.dist), np.asarray(b.dist), atol=1e-4)
    assert local.info.outliers_excluded == dist.info.outliers_excluded


def test_ray_stack_matches_the_local_stack(ray_local, tiny_config, tiny_model, tiny_stack, tmp_path):
    """Several layers through Ray workers (one forward per shard batch for all of them)."""
    from autointerp.stack.folder import Stack, build_stack

    dist = Stack.open(
        build_stack(tiny_config, [1, 2, 3], tmp_path, options=RunOptions(model=tiny_model, backend="ray", workers=2))
    )
    local = Stack.open(tiny_stack)
    assert dist.layers == local.layers == [1, 2, 3]
    for layer in dist.layers:
        a, b = local.workspaces[layer], dist.workspaces[layer]
        assert b.info.backend == "ray" and b.info.layer == layer
        assert torch.allclose(a.centroids, b.centroids, atol=1e-4)
        ra, rb = a.splits["val"].index.records, b.splits["val"].index.records
        assert np.array_equal(np.asarray(ra.window), np.asarray(rb.window))
        assert (np.asarray(ra.cluster) == np.asarray(rb.cluster)).mean() >= 0.999
    for pair, lin in dist.lineages.items():
        assert lin.total == local.lineages[pair].total
