"""`build --layers` and `analyze --layers`: the stack from the command line, and its JSON schema."""

import json
import shutil

from autointerp.cli import main

SENTENCE = "The cat sat on the mat."


def test_analyze_layers_json_schema(tiny_stack, tiny_model, capsys):
    n = len(tiny_model.tokenizer(SENTENCE, add_special_tokens=False)["input_ids"])
    assert main(["analyze", SENTENCE, "--stack", str(tiny_stack), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"layers", "rows"} and out["layers"] == [1, 2, 3]
    assert [r["position"] for r in out["rows"]] == list(range(n))
    for r in out["rows"]:
        assert set(r) == {"position", "token_str", "token_id", "by_layer"}
        assert isinstance(r["token_str"], str) and isinstance(r["token_id"], int)
        assert [c["layer"] for c in r["by_layer"]] == [1, 2, 3]
        for c in r["by_layer"]:
            assert set(c) == {"layer", "centroid_id", "explanation", "confidence", "activation"}
            assert 0 <= c["centroid_id"] < 8 and isinstance(c["explanation"], str) and c["explanation"]
            assert c["confidence"] is None or 0.0 <= c["confidence"] <= 1.0
            assert isinstance(c["activation"], float)


def test_analyze_layers_matches_each_single_layer_analyze(tiny_stack, capsys):
    from autointerp.stack.folder import Stack

    assert main(["analyze", SENTENCE, "--stack", str(tiny_stack), "--layers", "3,1", "--json"]) == 0
    depth = json.loads(capsys.readouterr().out)
    assert depth["layers"] == [1, 3]
    for i, layer in enumerate(depth["layers"]):
        ws = Stack.open(tiny_stack).workspaces[layer].path
        assert main(["analyze", SENTENCE, "--workspace", str(ws), "--json"]) == 0
        single = json.loads(capsys.readouterr().out)
        for row, one in zip(depth["rows"], single, strict=True):
            cell = row["by_layer"][i]
            assert cell["centroid_id"] == one["centroid_id"] and cell["explanation"] == one["explanation"]
            assert abs(cell["activation"] - one["activation"]) < 1e-3
            assert cell["confidence"] == (round(one["confidence"], 4) if one["status"] == "scored" else None)


def test_analyze_layers_table_has_a_column_group_per_layer(tiny_stack, tiny_model, capsys):
    n = len(tiny_model.tokenizer(SENTENCE, add_special_tokens=False)["input_ids"])
    assert main(["analyze", SENTENCE, "--stack", str(tiny_stack)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [x.strip() for x in lines[0].split("|")[1:]] == ["layer 1", "layer 2", "layer 3"]
    assert lines[1].split("|")[0].split() == ["Pos", "Token"]
    assert all(g.split()[:3] == ["C-ID", "Conf", "Act"] for g in lines[1].split("|")[1:])
    body = lines[3 : 3 + n]
    assert all(len(line.split("|")) == 4 for line in body)
    assert any(line.startswith("layer 3 centroid ") for line in lines[3 + n :])  # full explanations follow


def test_meta_layers_is_the_deepest_layers_meta_then_the_depth_section(tiny_stack, capsys):
    from autointerp.stack.folder import Stack

    assert main(["meta", SENTENCE, "--stack", str(tiny_stack), "--layers", "1,3"]) == 0
    out = capsys.readouterr().out
    ws = Stack.open(tiny_stack).workspaces[3].path
    assert main(["meta", SENTENCE, "--workspace", str(ws)]) == 0
    single = capsys.readouterr().out.strip()
    head, _, depth = out.partition("\n\nACROSS LAYERS (1, 3;")
    assert head == f"AT LAYER 3:\n{single}"  # the same meta as `meta --workspace` on layer 3 alone
    assert depth and "layer 1:" in depth and "layer 3:" in depth  # label kinds at both layers follow
    assert main(["meta", SENTENCE, "--stack", str(tiny_stack), "--layers", "1,9"]) == 2  # not in the stack


def test_build_layers_from_the_cli_and_bad_layers(tiny_config, tiny_stack, capsys, tmp_path):
    flags = ["--model", tiny_config.model, "--corpus", tiny_config.corpus, "--k", "8", "--window", "32"]
    flags += ["--train-tokens", "3000", "--val-tokens", "1500", "--heldout-tokens", "1200", "--iters", "10"]
    flags += ["--dtype", "float32", "--out", str(tmp_path)]
    for bad, message in [("", "empty"), ("2,2", "repeated: 2"), ("1,x", "comma-separated"), ("1,9", "out of range")]:
        assert main(["build", "--layers", bad, *flags]) == 2
        err = capsys.readouterr().err
        last = err.splitlines()[-1]  # after any progress bar, one line says what is wrong
        assert last.startswith("error:") and message in last and "Traceback" not in err
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]  # nothing left behind
    # the stack already built for these flags is found and reused, unsorted layers included
    for ws in [*tiny_stack.parent.iterdir()]:
        shutil.copytree(ws, tmp_path / ws.name)
    assert main(["build", "--layers", "3,2,1", *flags]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / tiny_stack.name)


def test_analyze_layers_with_a_layer_missing(tiny_stack, capsys, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tiny_stack.parent, root)
    manifest = json.loads((root / tiny_stack.name / "stack.json").read_text())
    shutil.rmtree(root / manifest["workspaces"]["2"])
    assert main(["analyze", SENTENCE, "--stack", str(root / tiny_stack.name), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["layers"] == [1, 3]
    assert "layer 2" in captured.err and "not on disk" in captured.err
    assert main(["analyze", SENTENCE, "--stack", str(root / tiny_stack.name), "--layers", "1,2"]) == 2
    assert "not available" in capsys.readouterr().err
