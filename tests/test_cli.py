import json

import pytest

from autointerp.cli import main


def test_analyze_table_and_json(tiny_workspace, tiny_model, capsys):
    n = len(tiny_model.tokenizer("The cat sat on the mat.", add_special_tokens=False)["input_ids"])
    assert main(["analyze", "The cat sat on the mat.", "--workspace", str(tiny_workspace)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Pos", "Token", "C-ID", "Conf", "Act", "Explanation"]
    assert len(out) == 2 + n  # header, rule, one line per token
    assert main(["analyze", "The cat sat on the mat.", "--workspace", str(tiny_workspace), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["position"] for r in rows] == list(range(n))


def test_bad_input_exits_with_message_not_traceback(tiny_workspace, capsys):
    assert main(["analyze", "   ", "--workspace", str(tiny_workspace)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error:") and "empty" in err and "Traceback" not in err
    assert main(["analyze", "x", "--workspace", "/nonexistent/ws"]) == 2
    assert "not a built workspace" in capsys.readouterr().err


def test_explain_resumes(tiny_workspace, capsys, tmp_path):
    import shutil

    tiny_workspace = shutil.copytree(tiny_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns("explanations"))
    assert main(["explain", "--workspace", str(tiny_workspace), "--ids", "0,1", "--json"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["explain", "--workspace", str(tiny_workspace), "--ids", "0,1,2"]) == 0
    summary = capsys.readouterr().out.strip()  # a line for a person, no JSON unless asked
    assert summary == "explained 1 centroid; 2 already cached and current."
    assert main(["explain", "--workspace", str(tiny_workspace), "--ids", "0,1,2", "--json"]) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["generated"] == 2 and first["failed"] == 0
    assert (second["cached"], second["generated"], second["failed"]) == (3, 0, 0)


def test_explain_with_the_local_model_and_an_openai_server(tiny_workspace, capsys, tmp_path, llm_server):
    import shutil

    ws = shutil.copytree(tiny_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns("explanations"))
    assert main(["explain", "--workspace", str(ws), "--ids", "0", "--llm", "local", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["generated"] == 1
    rec = json.loads((ws / "explanations" / "centroid_0.json").read_text())
    assert rec["metadata"]["explainer"] == "local-lm-choice"
    srv = llm_server(lambda p: (500, "down", 0))
    argv = ["explain", "--workspace", str(ws), "--ids", "1", "--llm", "openai", "--base-url", f"{srv.url}/v1", "--json"]
    code = main(argv)
    assert code == 1 and json.loads(capsys.readouterr().out.strip().splitlines()[-1])["failed"] == 1
    assert not (ws / "explanations" / "centroid_1.json").exists()


def test_estimate_before_an_llm_run(tiny_workspace, capsys, llm_server):
    srv = llm_server(lambda p: (200, "unused", 0))
    code = main(
        [
            "explain",
            "--workspace",
            str(tiny_workspace),
            "--llm",
            "openai",
            "--base-url",
            f"{srv.url}/v1",
            "--ids",
            "0,1,2,3",
            "--force",
            "--estimate-only",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0 and "4 centroids" in err and "LLM calls" in err and "prompt tokens" in err
    assert srv.calls == []  # estimating costs nothing
    calls = int(err.split("about ")[1].split(" LLM calls")[0].replace(",", ""))
    assert 4 * 2 <= calls <= 4 * 10  # one explanation call plus the detection batches per centroid


def test_cli_errors_are_one_line_with_exit_code_2(tiny_workspace, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cases = [
        ["explain", "--workspace", str(tiny_workspace), "--ids", "a,b"],
        ["analyze", "x", "--model", "/nonexistent/model", "--out", str(tmp_path)],
        ["build", "--k", "many"],
        ["analyze"],
    ]
    for argv in cases:
        with pytest.raises(SystemExit) as stop:
            raise SystemExit(main(argv))
        assert stop.value.code == 2, argv
        err = capsys.readouterr().err.strip()
        last = err.splitlines()[-1]  # progress bars may come before; the error is one whole line
        assert last.startswith("error:") and err.count("error:") == 1 and "Traceback" not in err, (argv, err)


def test_unwritable_out_folder_is_reported(tiny_config, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    flags = ["--model", tiny_config.model, "--corpus", tiny_config.corpus, "--layer", "2", "--k", "8"]
    flags += ["--window", "32", "--train-tokens", "3000", "--val-tokens", "1500", "--heldout-tokens", "1200"]
    assert main(["build", *flags, "--dtype", "float32", "--no-pos-tags", "--out", str(blocker / "ws")]) == 2
    err = capsys.readouterr().err
    assert "cannot write a workspace" in err and "Traceback" not in err


def test_build_flags_come_from_the_config():
    import dataclasses

    from autointerp.cli import build_parser, config_from_args
    from autointerp.config import BuildConfig

    a = build_parser().parse_args(["build", "--outlier-factor", "4.5", "--dtype", "float32", "--iters", "3"])
    cfg = config_from_args(a)
    assert cfg.outlier_factor == 4.5 and cfg.dtype == "float32" and cfg.kmeans_iters == 3
    defaults = config_from_args(build_parser().parse_args(["build"]))
    assert defaults == BuildConfig()
    assert {f.name for f in dataclasses.fields(BuildConfig)} <= set(vars(a))


def test_explain_reports_failures_grouped_by_reason(tiny_workspace, capsys, tmp_path, llm_server):
    import shutil

    ws = shutil.copytree(tiny_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns("explanations"))
    args = ["explain", "--workspace", str(ws), "--ids", "0,1", "--llm", "openai", "--json"]
    prose = llm_server(lambda p: (200, "I think these are all nouns.", 0))
    assert main([*args, "--base-url", f"{prose.url}/v1"]) == 1  # nothing was explained
    out = capsys.readouterr()
    counts = json.loads(out.out.strip().splitlines()[-1])
    assert counts["failed"] == 2 and counts["failures"] == {"unreadable answer": 2}
    assert "2 centroid(s) got no explanation" in out.err
    assert "unreadable answer: 2 (centroids 0, 1), first: the LLM answer has no JSON object" in out.err

    def bad_detection(prompt):
        if "one key per example" in prompt:
            return 200, '{"1": 1}', 0
        return 200, '{"explanation": "Something hard to pin down", "confidence": 0.5}', 0

    srv = llm_server(bad_detection)
    assert main([*args, "--base-url", f"{srv.url}/v1"]) == 0
    out = capsys.readouterr()
    counts = json.loads(out.out.strip().splitlines()[-1])
    assert (counts["generated"], counts["unscored"], counts["failed"]) == (2, 2, 0)
    assert "2 explanation(s) were kept, but the LLM could not score them:" in out.err
    assert "unreadable answer: 2 (centroids 0, 1), first: LLM detection scoring failed: expected 10 labels" in out.err
    recs = [json.loads((ws / "explanations" / f"centroid_{i}.json").read_text()) for i in (0, 1)]
    assert all(r["metadata"]["status"] == "unscored" and r["metadata"]["error_reason"] for r in recs)


def test_build_explains_every_centroid_offline(tiny_config, tiny_model_dir, tiny_corpus, tmp_path, capsys):
    from autointerp import CentroidExplanationCache

    flags = ["--model", str(tiny_model_dir), "--layer", "2", "--k", "8", "--corpus", str(tiny_corpus)]
    flags += ["--window", "32", "--train-tokens", "3000", "--val-tokens", "1500", "--heldout-tokens", "1200"]
    flags += ["--iters", "10", "--dtype", "float32", "--out", str(tmp_path)]
    assert main(["build", *flags]) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(CentroidExplanationCache(f"{path}/explanations").ids()) == 8  # the map starts in colour
    assert main(["build", *flags, "--no-explain", "--force"]) == 0  # a rebuild without explaining
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert not CentroidExplanationCache(f"{path}/explanations").ids()


def test_every_command_says_what_it_does(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("build", "analyze", "meta", "explain"):
        line = next(x for x in out.splitlines() if x.strip().startswith(cmd + " "))
        assert len(line.split()) > 3, line  # a description follows the name
    assert main_exit_code([]) == 2 and "COMMAND" in capsys.readouterr().err


def main_exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_run_options_are_checked_once_where_they_are_made(tmp_path, capsys):
    from autointerp.config import RunOptions
    from autointerp.errors import InputError

    with pytest.raises(InputError, match="unknown build backend 'dask'; use local or ray"):
        RunOptions(backend="dask")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="workers must be a whole number >= 1"):
            RunOptions(workers=bad)
    assert RunOptions(model=object()) == RunOptions()  # a loaded model rides along; it is not an option's value
    assert main(["build", "--workers", "0", "--out", str(tmp_path)]) == 2  # before any model is loaded
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["error: workers must be a whole number >= 1, got 0"]
    assert not list(tmp_path.iterdir())
