from autointerp.progress import TqdmProgress


def test_piped_progress_writes_a_few_lines_not_one_per_update(capsys):
    """Into a file or pipe every redraw is another line: a stage of 5,000 updates stays a handful of them."""
    with TqdmProgress() as progress:
        for i in range(1, 5001):
            progress("extract train activations", i, 5000)
        progress("fit k-means", 0, 25)
        progress("fit k-means", 25, 25)
    err = capsys.readouterr().err
    draws = [d for d in err.replace("\r", "\n").splitlines() if d.strip()]
    assert 2 <= len(draws) <= 8
    assert "extract train activations" in err and "5000/5000" in err and "25/25" in err
