"""The CLI says what it did: a dead LLM is a failure, stand-ins are named, bad input is refused before
the model loads, and `--layers` never starts a build the user did not ask for."""

import json
import shutil
import subprocess
import sys
import time

import pytest

from autointerp.cli import main

DEAD = "http://127.0.0.1:9/v1"  # the discard port: nothing listens on loopback, the connection is refused
SENTENCE = "The cat sat on the mat."


@pytest.fixture()
def ws(tiny_workspace, tmp_path):
    return shutil.copytree(tiny_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns("explanations"))


def test_explain_with_a_dead_llm_exits_non_zero(ws, capsys):
    code = main(["explain", "--workspace", str(ws), "--llm", "openai", "--base-url", DEAD, "--ids", "1,2", "--force"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "2 centroid(s) got no explanation" in err and "unreachable" in err
    assert out.startswith("explained 0 centroids; 0 already cached and current; 2 failed (nothing cached")
    assert not (ws / "explanations" / "centroid_1.json").exists()


def test_analyze_and_meta_say_when_other_explanations_stand_in(ws, capsys):
    llm = ["--llm", "openai", "--base-url", DEAD]
    assert main(["analyze", SENTENCE, "--workspace", str(ws), *llm, "--json"]) == 0  # nothing cached: all fail
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert all(r["status"] == "failed" for r in rows)
    assert f"{len({r['centroid_id'] for r in rows})} centroid(s) got no explanation" in err and "unreachable" in err

    assert main(["explain", "--workspace", str(ws)]) == 0  # the offline explainer fills the cache
    capsys.readouterr()
    assert main(["analyze", SENTENCE, "--workspace", str(ws), *llm]) == 0
    err = capsys.readouterr().err
    n = len({r["centroid_id"] for r in rows})
    assert f"{n} centroid{'s' if n > 1 else ''} of {n} show cached explanations not made by llm:" in err
    assert "by offline-rules" in err

    assert main(["meta", SENTENCE, "--workspace", str(ws), *llm]) == 0
    out, err = capsys.readouterr()
    assert "not made by llm:" in err and "by offline-rules" in err
    assert "Cache review, Regenerate" in err and "`explain --force`" in err  # both ways, the dashboard shares it
    assert "The LLM failed, so this summary is the offline one" in out

    assert main(["analyze", SENTENCE, "--workspace", str(ws)]) == 0  # the default explainer: nothing to say
    assert capsys.readouterr().err == ""


def _refused_without_loading(argv: list[str]) -> tuple[int, str, float]:
    """Run the CLI in a fresh process; it must exit 2 having imported neither torch nor a model loader."""
    code = (
        "import sys\nfrom autointerp.cli import main\n"
        f"code = main({argv!r})\n"
        "heavy = sorted(m for m in ('torch', 'nnterp', 'nnsight', 'transformers') if m in sys.modules)\n"
        "print('heavy:', heavy, file=sys.stderr)\nsys.exit(code)\n"
    )
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stderr, time.perf_counter() - t0


def test_bad_input_is_refused_before_anything_slow_is_imported(tiny_model_dir, tiny_corpus, tmp_path):
    flags = ["--model", str(tiny_model_dir), "--corpus", str(tiny_corpus), "--out", str(tmp_path)]
    cases = [
        (["analyze", "", *flags], "the sentence is empty"),
        (["meta", "  ", *flags], "the sentence is empty"),
        (["analyze", "x", "--workspace", str(tmp_path / "missing")], "is not a built workspace"),
        (["analyze", "x", "--stack", str(tmp_path / "missing")], "is not a stack"),
        (["analyze", "x", "--layer", "99", *flags], "layer 99 is out of range: this model has layers 0..3"),
        (["meta", "x", "--layers", "1,9", *flags], "layer 9 is out of range"),
        (["build", "--layer", "99", *flags], "layer 99 is out of range"),
        (
            ["analyze", "x", "--layers", "1,2", *flags],
            "layer(s) 1, 2 are not built for these flags (built layers: none)",
        ),
    ]
    for argv, message in cases:
        code, err, seconds = _refused_without_loading(argv)
        assert code == 2 and message in err and "Traceback" not in err, (argv, err)
        assert "heavy: []" in err, (argv, err)  # the model loader (and torch) was never reached
        assert seconds < 30, (argv, seconds)  # a bare interpreter start; loading the model is not in it
    assert not list(tmp_path.iterdir())  # nothing was built


def test_layers_not_in_any_built_stack_are_refused_unless_build(tiny_config, tiny_stack, capsys, tmp_path):
    flags = ["--model", tiny_config.model, "--corpus", tiny_config.corpus, "--k", "8", "--window", "32"]
    flags += ["--train-tokens", "3000", "--val-tokens", "1500", "--heldout-tokens", "1200", "--iters", "10"]
    flags += ["--dtype", "float32", "--out", str(tmp_path)]
    for d in tiny_stack.parent.iterdir():
        shutil.copytree(d, tmp_path / d.name)
    before = sorted(p.name for p in tmp_path.iterdir())

    assert main(["analyze", SENTENCE, "--layers", "0", *flags]) == 2  # layer 0 is in no stack: refused
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: layer(s) 0 are not built for these flags (built layers: 1, 2, 3)")
    assert "--build" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing was built

    assert main(["analyze", SENTENCE, "--layers", "1,3", *flags, "--json"]) == 0  # a subset of the stack
    assert json.loads(capsys.readouterr().out)["layers"] == [1, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == before

    assert main(["analyze", SENTENCE, "--layers", "0", *flags, "--build", "--json"]) == 0  # asked for: built
    captured = capsys.readouterr()
    assert "building layer(s) 0" in captured.err and json.loads(captured.out)["layers"] == [0]
    assert len(list(tmp_path.iterdir())) == len(before) + 2  # the layer-0 workspace and its stack folder

    assert main(["analyze", SENTENCE, "--layers", "0,1", *flags, "--json"]) == 0  # built layers, no such stack:
    captured = capsys.readouterr()  # tied together (lineage only), without --build
    assert json.loads(captured.out)["layers"] == [0, 1] and "building" not in captured.err
