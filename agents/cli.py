"""``palaestra models`` (pull, list) and ``palaestra serve``."""

from __future__ import annotations

import argparse
import os
import sys


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="pull and list local models (aliases such as smollm2-135m)")
    models = p.add_subparsers(dest="models_command", metavar="ACTION")
    pull = models.add_parser("pull", help="fetch and convert a model alias into the cache")
    pull.add_argument("name", help="alias, e.g. smollm2-135m (see 'palaestra models list')")
    pull.add_argument("--force", action="store_true", help="rebuild even when cached")
    pull.set_defaults(handler=_pull)
    listing = models.add_parser("list", help="show the aliases and what is cached")
    listing.set_defaults(handler=_list)
    p.set_defaults(handler=_list)

    p = sub.add_parser(
        "serve", help="serve an agent spec as an OpenAI-compatible endpoint (chat and completions)"
    )
    p.add_argument("spec", metavar="SPEC", help="agent spec, e.g. 'hf:smollm2-135m'")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free)")
    p.add_argument("--model-name", default=None, help="model id to report (default: agent name)")
    p.add_argument(
        "--api-key-env",
        default=None,
        help="require 'Authorization: Bearer <key>' with the key from this environment variable",
    )
    p.add_argument("--max-batch", type=int, default=32, help="most requests per act() call")
    p.add_argument(
        "--batch-wait",
        type=float,
        default=0.01,
        help="seconds to wait for more requests before generating (default 0.01)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=4 * 2**20,
        help="largest request body in bytes; a bigger one gets HTTP 413 (default 4 MiB)",
    )
    p.set_defaults(handler=_serve)


def _pull(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from palaestra.agents.models import get_alias, pull_model

    alias = get_alias(args.name)
    if alias.cached and not args.force:
        print(f"{alias.name} is already cached in {alias.path}")
        return 0
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} stages"),
        TimeElapsedColumn(),
    )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one progress display: ours
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(f"{alias.name}: starting", total=len(alias.stages))
        started: list[str] = []

        def stage(name: str) -> None:
            if started:
                progress.advance(task)
            started.append(name)
            progress.update(task, description=f"{alias.name}: {name}")

        path = pull_model(args.name, force=args.force, progress=stage)
        progress.update(task, completed=len(alias.stages), description=f"{alias.name}: done")
    print(f"{alias.name} saved to {path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from palaestra.agents.models import format_age, list_models, models_dir

    table = Table(title=f"models in {models_dir()}")
    for col in ("name", "cached", "size", "pulled", "description"):
        table.add_column(col)
    for entry in list_models():
        size = f"{entry.size_bytes / 1e6:.1f} MB" if entry.cached else "-"
        cached = "yes" if entry.cached else "no"
        table.add_row(entry.name, cached, size, format_age(entry.modified), entry.description)
    Console().print(table)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from palaestra.agents.serve import make_server

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ValueError(f"environment variable {args.api_key_env} is not set")
    server = make_server(
        args.spec,
        host=args.host,
        port=args.port,
        model_name=args.model_name,
        api_key=api_key,
        max_batch=args.max_batch,
        batch_wait=args.batch_wait,
        max_body_bytes=args.max_body_bytes,
    )
    print(
        f"serving {server.agent.name} as model {server.model_name!r} at {server.base_url}"
        " (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
