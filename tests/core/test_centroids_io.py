import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from autointerp import load_kmeans_centroids, save_kmeans_centroids
from autointerp.core.centroids_io import FitInfo, read_centroid_file
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


# The metadata a build wrote before FitInfo existed (a workspace on disk today), key for key.
OLD_BUILD_METADATA = {
    "model": "embedded:SmolLM2-135M-Instruct",
    "layer": 12,
    "site": "layer_output",
    "k": 5,
    "normalisation": "cosine",
    "normalisation_detail": "subtract the training mean, unit-normalise; spherical k-means",
    "corpus": "embedded:wikitext",
    "seed": 0,
    "hidden_dim": 8,
    "sink_token_id": None,
    "sink_policy": "each window is prefixed with the sink token, whose position is dropped",
    "outlier_policy": "train tokens with norm > 10.0 x median (3.2) are excluded from the fit",
    "outliers_excluded": 2,
    "train_tokens": 900,
    "median_centered_norm": 3.1,
    "inertia": 12.5,
    "iterations": 7,
    "reseeded_empty_clusters": 0,
    "backend": "local",
    "activation_definition": "cosine similarity to the centroid",
    "linguistic": "spaCy en_core_web_sm 3.8.0",
    "concepts": "WordNet 3.0",
}


def test_an_old_workspace_file_reads_as_fit_info_and_writes_back_the_same(tmp_path):
    c, center = torch.randn(5, 8), torch.randn(8)
    torch.save({"centroids": c, "metadata": OLD_BUILD_METADATA, "center": center}, tmp_path / "old.pt")
    file = read_centroid_file(tmp_path / "old.pt")
    assert torch.equal(file.centroids, c) and torch.equal(file.center, center)
    assert file.info.layer == 12 and file.info.median_centered_norm == 3.1 and file.info.concepts == "WordNet 3.0"
    assert file.info.sink_decided and file.info.sink_token_id is None  # the build chose "no sink"
    assert file.info.extra == {}  # every key a build writes is a typed field
    assert list(file.info.to_dict().items()) == list(OLD_BUILD_METADATA.items())  # same keys, same order
    save_kmeans_centroids(tmp_path / "new.pt", file.centroids, file.info, file.center)
    raw = torch.load(tmp_path / "new.pt", weights_only=True)
    assert raw["metadata"] == OLD_BUILD_METADATA and torch.equal(raw["center"], center)


def test_fit_info_keeps_unknown_keys_and_explicit_values_win():
    info = FitInfo.from_dict({"layer": 3, "from_elsewhere": [1, 2]})
    assert info.layer == 3 and info.extra == {"from_elsewhere": [1, 2]} and not info.sink_decided
    assert info.to_dict() == {"layer": 3, "from_elsewhere": [1, 2]}
    merged = info.overridden(FitInfo(layer=5, normalisation="cosine"))
    assert merged.layer == 5 and merged.normalisation == "cosine" and merged.extra == {"from_elsewhere": [1, 2]}
