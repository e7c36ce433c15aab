import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from autointerp import load_kmeans_centroids, save_kmeans_centroids
from autointerp.errors import CentroidFileError


def test_pt_dict_and_bare_tensor(tmp_path):
    c = torch.randn(5, 8)
    save_kmeans_centroids(tmp_path / "a.pt", c, {"layer": 3}, center=torch.ones(8))
    got, meta = load_kmeans_centroids(tmp_path / "a.pt")
    assert torch.equal(got, c) and meta["layer"] == 3 and torch.equal(meta["center"], torch.ones(8))
    torch.save(c, tmp_path / "b.pt")
    got, meta = load_kmeans_centroids(tmp_path / "b.pt")
    assert torch.equal(got, c) and meta == {}


def test_safetensors_and_npy(tmp_path):
    c = torch.randn(4, 6)
    save_file({"centroids": c}, str(tmp_path / "c.safetensors"), metadata={"metadata": '{"layer": 2}'})
    got, meta = load_kmeans_centroids(tmp_path / "c.safetensors")
    assert torch.equal(got, c) and meta == {"layer": 2}
    np.save(tmp_path / "c.npy", c.numpy())
    got, _ = load_kmeans_centroids(tmp_path / "c.npy")
    assert torch.allclose(got, c)


def test_pt_is_loaded_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"centroids": torch.zeros(2, 2), "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CentroidFileError, match="corrupt or not a centroids file"):
        load_kmeans_centroids(tmp_path / "evil.pt")


@pytest.mark.parametrize(
    "writer, match",
    [
        (lambda p: p.write_bytes(b"garbage" * 10), "corrupt"),
        (lambda p: torch.save({"weights": torch.zeros(2, 2)}, p), "without a 'centroids' key"),
        (lambda p: torch.save(torch.zeros(3), p), "shape"),
        (lambda p: torch.save(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), p), "NaN or Inf"),
        (lambda p: torch.save(torch.tensor([[1.0, float("inf")]]), p), "NaN or Inf"),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, writer, match):
    p = tmp_path / "bad.pt"
    writer(p)
    with pytest.raises(CentroidFileError, match=match):
        load_kmeans_centroids(p)


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(CentroidFileError, match="does not exist"):
        load_kmeans_centroids(tmp_path / "nope.pt")
    (tmp_path / "x.txt").write_text("1 2 3")
    with pytest.raises(CentroidFileError, match="unsupported"):
        load_kmeans_centroids(tmp_path / "x.txt")
