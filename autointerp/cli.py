"""`python -m autointerp build | analyze | explain | meta | fidelity`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from autointerp.config import BACKENDS, BuildConfig, RunOptions, default_workspace_root, parse_layers
from autointerp.errors import AutoInterpError, InputError
from autointerp.explain.clients.factory import HTTP_CLIENTS, ClientSettings, Provider
from autointerp.formatting import confidence_text, count_text, rounded
from autointerp.records import CentroidExplanation, SentenceRow
from autointerp.tokens import visible

if TYPE_CHECKING:
    from autointerp.analysis.depth import DepthAnalysis
    from autointerp.analysis.sentence import SentenceAnalysis
    from autointerp.explain.lifecycle import ExplainCounts
    from autointerp.explain.llm_choice import ExplainPlan
    from autointerp.interp import KMeansAutoInterp


class ArgumentParser(argparse.ArgumentParser):
    """Argument errors end with one line and exit code 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per BuildConfig field, named, typed and documented by the field itself."""
    for f in dataclasses.fields(BuildConfig):
        flag = "--" + f.name.replace("_", "-")
        help_ = f.metadata.get("help", "")
        if isinstance(f.default, bool):
            p.add_argument(f"--no-{f.name.replace('_', '-')}", dest=f.name, action="store_false", help=f"skip: {help_}")
            continue
        p.add_argument(
            flag,
            *f.metadata.get("aliases", ()),
            dest=f.name,
            type=type(f.default),
            default=f.default,
            choices=f.metadata.get("choices"),
            help=f"{help_} (default: {f.default})",
        )
    p.add_argument("--out", default=None, help=f"workspaces folder (default: {default_workspace_root()})")


def config_from_args(a: argparse.Namespace) -> BuildConfig:
    return BuildConfig(**{f.name: getattr(a, f.name) for f in dataclasses.fields(BuildConfig)})


def add_llm_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--llm",
        choices=[str(x) for x in Provider],
        default="offline",
        help="offline rules (default); local: the workspace model picks among candidate labels; "
        "openai: any OpenAI-compatible server (key from OPENAI_API_KEY); anthropic (ANTHROPIC_API_KEY)",
    )
    p.add_argument("--llm-model", default="", help="model name (default: the provider's)")
    p.add_argument("--base-url", default="", help="server base URL (default: the provider's)")


def settings_from_args(a: argparse.Namespace) -> ClientSettings:
    return ClientSettings(Provider(a.llm), a.llm_model, a.base_url, max_rps=getattr(a, "max_rps", None))


def parse_ids(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise AutoInterpError(f"--ids takes comma-separated centroid numbers, got {text!r}") from None


def format_table(rows: list[SentenceRow]) -> str:
    """The documented layout: Pos, Token, C-ID, Conf, Act, Explanation ("n/m": not measured)."""
    out = [f"{'Pos':<5}{'Token':<13}{'C-ID':<6}{'Conf':<7}{'Act':<8}Explanation", "-" * 78]
    for r in rows:
        tok = visible(r.token_str)
        conf = f"{confidence_text(r.confidence if r.measured else None, 'n/m'):<7}"
        out.append(f"{r.position:<5}{tok[:12]:<13}{r.centroid_id:<6}{conf}{r.activation:<8.3f}{r.explanation}")
    return "\n".join(out)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_depth_table(depth: DepthAnalysis, expl_width: int = 22) -> str:
    """One column group per layer (C-ID, Conf, Act, Explanation cut to fit; "n/m": not measured), then
    every centroid's full explanation, layer by layer."""
    group = 6 + 6 + 7 + expl_width
    head = f"{'':<5}{'':<13}" + "".join(f"| {('layer ' + str(x)):<{group}}" for x in depth.layers)
    sub = f"{'Pos':<5}{'Token':<13}" + f"| {'C-ID':<6}{'Conf':<6}{'Act':<7}{'Explanation':<{expl_width}}" * len(
        depth.layers
    )
    out = [head, sub, "-" * len(sub)]
    for r in depth.rows:
        tok = visible(r.token_str)
        line = f"{r.position:<5}{tok[:12]:<13}"
        for c in r.by_layer:
            conf = f"{confidence_text(c.confidence, 'n/m'):<6}"
            line += (
                f"| {c.centroid_id:<6}{conf}{c.activation:<7.3f}{_short(c.explanation, expl_width - 1):<{expl_width}}"
            )
        out.append(line.rstrip())
    out.append("")
    for layer in depth.layers:
        a = depth.per_layer[layer]
        for cid, e in sorted(a.explanations.items()):
            conf = confidence_text(e.confidence if e.measured else None, "n/m")
            out.append(f"layer {layer} centroid {cid} ({conf}): {e.explanation}")
    return "\n".join(out)


def options_from_args(a: argparse.Namespace) -> RunOptions:
    """`build`'s run options, checked once here (a bad --workers is one line, not a traceback)."""
    return RunOptions(force=a.force, backend=a.backend, workers=a.workers, explain=a.explain)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m autointerp", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True, parser_class=ArgumentParser, metavar="COMMAND")
    b = sub.add_parser("build", help="build (or reuse) a workspace")
    add_config_flags(b)
    b.add_argument("--force", action="store_true", help="rebuild even if the workspace exists")
    b.add_argument("--backend", choices=BACKENDS, default="local", help="ray: shard across Ray workers")
    b.add_argument("--workers", type=int, default=2, help="Ray workers (with --backend ray)")
    b.add_argument("--layers", default=None, help="build a stack: comma-separated layers (replaces --layer)")
    b.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="skip explaining every centroid offline after the build (a few seconds for k=256)",
    )
    helps = {
        "analyze": "each token's centroid, explanation, measured confidence and activation (table, --json, --html)",
        "meta": "a meta-interpretation of how the model processed a text, grounded in its tokens' centroids",
        "explain": "explain and score centroids (offline rules by default, or an LLM) into the cache",
    }
    for name, help_ in helps.items():
        p = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
        if name != "explain":
            p.add_argument("sentence", help="the text to analyse (quote it)")
        p.add_argument("--workspace", help="a built workspace folder (default: build/reuse from the flags)")
        add_llm_flags(p)
        add_config_flags(p)
        if name != "explain":
            p.add_argument(
                "--layers",
                default=None,
                help=f"{name} at several layers (e.g. 3,6,9,12) of a stack already built for the flags",
            )
            p.add_argument("--stack", default=None, help="a built stack folder (default: found from the flags)")
            p.add_argument(
                "--build",
                action="store_true",
                help="with --layers: build the stack when no stack built for the flags has every layer (minutes)",
            )
        if name == "analyze":
            p.add_argument("--json", action="store_true", help="print the rows as JSON")
            p.add_argument(
                "--html",
                metavar="FILE",
                help="also write the analysis as one self-contained HTML page (chips with hover cards, table, "
                "meta-interpretation) that opens offline in any browser",
            )
        if name == "explain":
            p.add_argument("--ids", default="", help="comma-separated centroid ids (default: all)")
            p.add_argument(
                "--force", action="store_true", help="explain again even centroids whose cached explanation is current"
            )
            p.add_argument("--json", action="store_true", help="end with the counts as one JSON line")
            p.add_argument("--concurrency", type=int, default=4, help="LLM requests in flight at once")
            p.add_argument("--max-rps", type=float, default=None, help="at most this many LLM requests per second")
            p.add_argument("--estimate-only", action="store_true", help="print the estimated LLM cost, then stop")
    add_fidelity_command(sub)
    return parser


def add_fidelity_command(sub: Any) -> None:
    f = sub.add_parser(
        "fidelity",
        help="how much of the model the codebook carries: CE loss recovered and FVE (--json, --text-file, --layers)",
    )
    f.add_argument("--workspace", help="a built workspace folder (default: build/reuse from the flags)")
    f.add_argument("--text-file", help="measure on this file: each non-empty line one document (first 128 tokens)")
    f.add_argument("--json", action="store_true", help="print one JSON object (a list of them with --layers)")
    f.add_argument("--layers", default=None, help="one figure per layer of a stack (e.g. 3,6,9,12)")
    add_config_flags(f)


def preflight(a: argparse.Namespace) -> None:
    """Refuse what can be refused without the model, before any slow import: loading torch, nnsight and a
    model takes seconds, a build minutes."""
    from autointerp.checks import check_layers_built, check_model_layers, check_sentence
    from autointerp.layout import is_built, is_stack

    if a.cmd in ("analyze", "meta"):
        check_sentence(a.sentence)
    if getattr(a, "workspace", None):
        if not is_built(Path(a.workspace)):
            raise InputError(f"{a.workspace} is not a built workspace (run `python -m autointerp build`)")
        return
    if getattr(a, "stack", None):
        if not is_stack(Path(a.stack)):
            raise InputError(f"{a.stack} is not a stack (run `python -m autointerp build --layers ...`)")
        return
    layers = parse_layers(a.layers) if getattr(a, "layers", None) is not None else [a.layer]
    check_model_layers(a.model, layers)
    if a.cmd in ("analyze", "meta") and a.layers is not None and not a.build:
        check_layers_built(config_from_args(a), layers, a.out)


def run(a: argparse.Namespace) -> int:
    from autointerp.progress import TqdmProgress

    if a.cmd == "fidelity":
        from autointerp.fidelity_cli import run_fidelity

        return run_fidelity(a, config_from_args(a))
    if a.cmd == "build" and a.layers is not None:
        from autointerp.prepare import prepare_stack

        layers, options = parse_layers(a.layers), options_from_args(a)
        with TqdmProgress() as bars:
            path = prepare_stack(config_from_args(a), layers, a.out, bars, options)
        print(path)
        return 0
    if a.cmd in ("analyze", "meta") and (a.layers is not None or a.stack):
        if getattr(a, "html", None):
            raise InputError("--html exports one layer's analysis: use --workspace (or the build flags), not --layers")
        return analyze_layers(a)
    if a.cmd == "build":
        from autointerp.prepare import prepare_workspace

        options = options_from_args(a)
        with TqdmProgress() as bars:
            path = prepare_workspace(config_from_args(a), a.out, bars, options)
        print(path)
        return 0
    return run_on_workspace(a)


def run_on_workspace(a: argparse.Namespace) -> int:
    """`analyze`, `meta` and `explain` on one workspace: `--workspace`, or the one the flags describe."""
    from autointerp.explain.llm_choice import make_plan
    from autointerp.interp import KMeansAutoInterp
    from autointerp.progress import TqdmProgress
    from autointerp.workspace import build_workspace, is_built, workspace_path

    if a.workspace:
        path = Path(a.workspace)
    else:
        config = config_from_args(a)
        if not is_built(workspace_path(config, a.out)):
            print(
                f"no workspace is built for these flags: building {workspace_path(config, a.out)} first",
                file=sys.stderr,
            )
        with TqdmProgress() as bars:
            path = build_workspace(config, a.out, bars)
    interp = KMeansAutoInterp.from_workspace(path)
    plan = make_plan(settings_from_args(a), interp.model)  # the --llm choice, resolved once
    if a.cmd == "explain":
        return explain(a, interp, plan)
    analysis = asyncio.run(interp.analyze(a.sentence, llm_client=plan))
    say_notices(analysis.notice, analysis.explanations.values())
    if a.cmd == "meta":
        print(asyncio.run(interp.interpret_analysis(analysis, plan)))
        return 0
    rows = [r.to_dict() for r in analysis.rows]
    print(json.dumps(rounded(rows), indent=1) if a.json else format_table(analysis.rows))
    if a.html:
        write_html(Path(a.html), analysis, interp, plan)
    return 0


def say_notices(notice: str, records: Iterable[CentroidExplanation]) -> None:
    """On stderr: the analysis notice (truncation, stand-in explanations), then any failures by reason."""
    from autointerp.explain.outcomes import describe_failures

    for line in ([notice] if notice else []) + describe_failures(records):
        print(line, file=sys.stderr)


def stack_to_open(a: argparse.Namespace, layers: list[int] | None) -> Path:
    """`--stack`, else a stack built for the flags that has every requested layer, else one tied together
    from layers already built; `preflight` has refused layers that would need a build unless `--build`."""
    from autointerp.checks import built_layers
    from autointerp.progress import TqdmProgress
    from autointerp.stack.folder import build_stack, stack_path, stacks_for

    if a.stack:
        return Path(a.stack)
    config = config_from_args(a)
    wanted = layers or [config.layer]
    found = stacks_for(config, a.out)
    exact = stack_path(config, wanted, a.out)
    covering = [p for p, have in found.items() if set(wanted) <= set(have)]
    if not a.build and (exact in found or covering):
        return exact if exact in found else covering[0]
    missing = [x for x in wanted if x not in built_layers(config, a.out)]  # preflight refused them without --build
    if missing:
        print(f"building layer(s) {', '.join(map(str, missing))} for these flags (minutes)…", file=sys.stderr)
    with TqdmProgress() as bars:
        return build_stack(config, wanted, a.out, bars)  # reuses every layer already built


def analyze_layers(a: argparse.Namespace) -> int:
    """`analyze|meta --layers` / `--stack`: one forward pass, every layer's centroid for each token."""
    from autointerp.explain.llm_choice import make_plan
    from autointerp.stack_interp import StackInterp

    if a.workspace:
        raise InputError("--layers reads a stack: pass --stack PATH or the build flags, not --workspace")
    layers = parse_layers(a.layers) if a.layers is not None else None
    stack = StackInterp.open(stack_to_open(a, layers), layers=layers)
    plan = make_plan(settings_from_args(a), stack.depth.model)  # the --llm choice, resolved once
    depth = asyncio.run(stack.analyze(a.sentence, llm_client=plan))
    say_notices(depth.notice, [e for x in depth.per_layer.values() for e in x.explanations.values()])
    if a.cmd == "meta":
        print(asyncio.run(stack.meta_text(depth, llm_client=plan)))
        return 0
    print(json.dumps(rounded(depth.to_dict()), indent=1) if a.json else format_depth_table(depth))
    return 0


def write_html(path: Path, analysis: SentenceAnalysis, interp: KMeansAutoInterp, plan: ExplainPlan) -> None:
    """The HTML export, with the meta-interpretation written by the same LLM as the analysis."""
    from autointerp.files import atomic_write_text
    from autointerp.ui.export import about_workspace, analysis_html

    meta = asyncio.run(interp.interpret_analysis(analysis, plan))
    ws = interp.workspace
    about = about_workspace(ws.config, interp.num_centroids, ws.path.name) if ws is not None else {}
    atomic_write_text(path, analysis_html(analysis.rows, meta, about, analysis.notice))
    print(f"wrote {path}", file=sys.stderr)


def explain(a: argparse.Namespace, interp: KMeansAutoInterp, plan: ExplainPlan) -> int:
    from tqdm.auto import tqdm

    ids = parse_ids(a.ids) or list(range(interp.num_centroids))
    if Provider(a.llm) in HTTP_CLIENTS:  # a paid run: say what it will cost first
        from autointerp.explain.planning import estimate_llm_run

        todo = ids if a.force else [i for i in ids if not interp.cache.has(i)]
        estimate = estimate_llm_run(interp.validation, interp.heldout, interp.tokenizer, todo)
        print("estimate: " + estimate.describe(), file=sys.stderr)
        if a.estimate_only:
            return 0
    bar = tqdm(total=len(ids), desc="explain centroids", dynamic_ncols=True)

    def tick(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    run = interp.explain_all(ids, force=a.force, concurrency=a.concurrency, llm_client=plan, on_done=tick)
    counts = asyncio.run(run)
    bar.close()
    from autointerp.explain.outcomes import describe_failures

    for line in describe_failures(counts.problems):
        print(line, file=sys.stderr)
    print(explain_summary(counts))
    if a.json:
        print(json.dumps(counts.to_dict()))
    return 1 if counts.failed else 0


def explain_summary(counts: ExplainCounts) -> str:
    """One line for a person: what was explained, kept and failed (exit code 1 when anything failed)."""
    parts = [f"explained {count_text(counts.generated, 'centroid')}"]
    if counts.unscored:
        parts[0] += f" ({counts.unscored} not measured)"
    parts.append(f"{counts.cached} already cached and current")
    if counts.failed:
        parts.append(f"{counts.failed} failed (nothing cached for them; run again to retry)")
    return "; ".join(parts) + "."


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from autointerp.core.nnsight_mount import disable_pymount  # cheap: it imports nnsight only when called

        preflight(a)  # before the slow imports below: bad input is refused in well under a second
        disable_pymount()  # this process never needs nnsight's `.save` mount, and async HTTP breaks under it
        return run(a)
    except (AutoInterpError, OSError) as exc:
        msg = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        print("error: " + " ".join(msg.split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
