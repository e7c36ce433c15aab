"""`python -m autointerp build | analyze | explain | meta`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from .config import EMBEDDED_CORPUS, EMBEDDED_MODEL, NORMALISATIONS, SITES, BuildConfig, default_workspace_root
from .errors import AutoInterpError


def _add_build_flags(p: argparse.ArgumentParser) -> None:
    d = BuildConfig()
    p.add_argument("--model", default=d.model, help=f"hub name, local folder, or {EMBEDDED_MODEL} (default)")
    p.add_argument("--layer", type=int, default=d.layer)
    p.add_argument("--site", choices=SITES, default=d.site)
    p.add_argument("--k", type=int, default=d.k, help="number of centroids")
    p.add_argument("--corpus", default=d.corpus, help=f".txt, .jsonl or .csv file, or {EMBEDDED_CORPUS} (default)")
    p.add_argument("--text-field", default=d.text_field, help="JSONL field or CSV column holding the text")
    p.add_argument("--normalisation", choices=NORMALISATIONS, default=d.normalisation)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--window", type=int, default=d.window)
    p.add_argument("--train-tokens", type=int, default=d.train_tokens)
    p.add_argument("--val-tokens", type=int, default=d.val_tokens)
    p.add_argument("--heldout-tokens", type=int, default=d.heldout_tokens)
    p.add_argument("--iters", type=int, default=d.kmeans_iters)
    p.add_argument("--no-pos-tags", action="store_true", help="skip spaCy part-of-speech and entity tags")
    p.add_argument("--out", default=None, help=f"workspaces folder (default: {default_workspace_root()})")


def config_from_args(a: argparse.Namespace) -> BuildConfig:
    return BuildConfig(
        model=a.model,
        layer=a.layer,
        site=a.site,
        k=a.k,
        corpus=a.corpus,
        text_field=a.text_field,
        normalisation=a.normalisation,
        seed=a.seed,
        window=a.window,
        train_tokens=a.train_tokens,
        val_tokens=a.val_tokens,
        heldout_tokens=a.heldout_tokens,
        kmeans_iters=a.iters,
        pos_tags=not a.no_pos_tags,
    )


def resolve_workspace(a: argparse.Namespace) -> Path:
    from .progress import TqdmProgress
    from .workspace import build_workspace

    if getattr(a, "workspace", None):
        return Path(a.workspace)
    return build_workspace(config_from_args(a), a.out, progress=TqdmProgress())


def format_table(rows: list[dict[str, Any]]) -> str:
    """The documented layout: Pos, Token, C-ID, Conf, Act, Explanation."""
    out = [f"{'Pos':<5}{'Token':<13}{'C-ID':<6}{'Conf':<7}{'Act':<8}Explanation", "-" * 78]
    for r in rows:
        tok = r["token_str"].replace("\n", "\\n")
        out.append(
            f"{r['position']:<5}{tok[:12]:<13}{r['centroid_id']:<6}{r['confidence']:<7.2f}"
            f"{r['activation']:<8.3f}{r['explanation']}"
        )
    return "\n".join(out)


async def explain_all(interp: Any, ids: list[int], force: bool, concurrency: int, client: Any = None) -> dict[str, int]:
    """Explain many centroids with bounded concurrency; cached ones are skipped, so a rerun resumes."""
    from tqdm.auto import tqdm

    sem = asyncio.Semaphore(max(1, concurrency))
    counts = {"cached": 0, "generated": 0, "failed": 0}
    bar = tqdm(total=len(ids), desc="explain centroids", dynamic_ncols=True)

    async def one(cid: int) -> None:
        async with sem:
            cached = None if force else interp.cache.get(cid)
            if cached is not None and not interp.stale_reasons(cached, client):
                counts["cached"] += 1
            else:
                e = await interp.get_or_generate_explanation(cid, llm_client=client, force_regenerate=force)
                counts["failed" if e.metadata.get("status") == "failed" else "generated"] += 1
            bar.update(1)

    await asyncio.gather(*(one(i) for i in ids))
    bar.close()
    return counts


def make_client(a: argparse.Namespace, interp: Any) -> Any:
    if getattr(a, "llm", "offline") == "openai":
        from .clients.openai_compat import OpenAICompatibleClient

        return OpenAICompatibleClient(a.llm_model, base_url=a.base_url, max_rps=getattr(a, "max_rps", None))
    if getattr(a, "llm", "offline") == "local":
        from .explainers.local_lm import LocalLabelChooser

        return LocalLabelChooser(interp.model)
    if getattr(a, "llm", "offline") == "anthropic":
        from .clients.anthropic import AnthropicClient

        return AnthropicClient(a.llm_model, max_rps=getattr(a, "max_rps", None))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autointerp", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build (or reuse) a workspace")
    _add_build_flags(b)
    b.add_argument("--force", action="store_true", help="rebuild even if the workspace exists")
    b.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="ray: shard extraction and k-means across Ray workers (pip install -r requirements-ray.txt)",
    )
    b.add_argument("--workers", type=int, default=2, help="Ray workers (with --backend ray)")
    for name in ("analyze", "meta", "explain"):
        p = sub.add_parser(name)
        if name != "explain":
            p.add_argument("sentence")
        p.add_argument("--workspace", help="a built workspace folder (default: build/reuse from the flags)")
        p.add_argument(
            "--llm",
            choices=("offline", "local", "openai", "anthropic"),
            default="offline",
            help="offline rules (default); local: the workspace model picks among candidate labels; "
            "openai: any OpenAI-compatible server (key from OPENAI_API_KEY); anthropic (ANTHROPIC_API_KEY)",
        )
        p.add_argument("--llm-model", default="gpt-4o-mini", help="model name for openai/anthropic")
        p.add_argument("--base-url", default="https://api.openai.com/v1", help="OpenAI-compatible base URL")
        _add_build_flags(p)
        if name == "analyze":
            p.add_argument("--json", action="store_true", help="print the rows as JSON")
        if name == "explain":
            p.add_argument("--ids", default="", help="comma-separated centroid ids (default: all)")
            p.add_argument("--force", action="store_true")
            p.add_argument("--concurrency", type=int, default=4, help="LLM requests in flight at once")
            p.add_argument("--max-rps", type=float, default=None, help="at most this many LLM requests per second")
            p.add_argument(
                "--estimate-only",
                action="store_true",
                help="print the estimated LLM calls and prompt tokens, then stop",
            )
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if a.cmd == "build":
            from .progress import TqdmProgress
            from .workspace import build_workspace

            path = build_workspace(
                config_from_args(a), a.out, progress=TqdmProgress(), force=a.force, backend=a.backend, workers=a.workers
            )
            print(path)
            return 0
        from .interp import KMeansAutoInterp

        interp = KMeansAutoInterp.from_workspace(resolve_workspace(a))
        client = make_client(a, interp)
        if a.cmd == "analyze":
            analysis = asyncio.run(interp.analyze(a.sentence, llm_client=client))
            if analysis.notice:
                print(analysis.notice, file=sys.stderr)
            print(json.dumps(analysis.rows, indent=1) if a.json else format_table(analysis.rows))
        elif a.cmd == "meta":
            print(asyncio.run(interp.interpret_with_meta_model(a.sentence, llm_client=client)))
        else:
            ids = [int(x) for x in a.ids.split(",") if x.strip()] or list(range(interp.num_centroids))
            if a.llm in ("openai", "anthropic"):
                from .planning import estimate_llm_run

                todo = ids if a.force else [i for i in ids if not interp.cache.has(i)]
                print("estimate: " + estimate_llm_run(interp, todo).describe(), file=sys.stderr)
                if a.estimate_only:
                    return 0
            counts = asyncio.run(explain_all(interp, ids, a.force, a.concurrency, client))
            print(json.dumps(counts))
        return 0
    except AutoInterpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
