"""Authoring commands: ``validate``, ``schema``, ``init``, ``fmt``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from focalctl.cli.app import app
from focalctl.cli.common import EXIT_ERROR, EXIT_OK, console, fail, partial_cache, use_color
from focalctl.cli.options import DiagnosticFormatOpt, NoCacheOpt

DEFAULT_MAX_ERRORS = 50


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Bundle directories or files (default: .).")
    ] = None,
    fmt: DiagnosticFormatOpt = "text",
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    no_cache: NoCacheOpt = False,
    max_errors: Annotated[
        int,
        typer.Option(
            "--max-errors",
            min=0,
            help="Show at most this many problems in the text format (0: all); the other "
            "formats always list every one.",
        ),
    ] = DEFAULT_MAX_ERRORS,
) -> None:
    """Parse and check a bundle; report every problem with file:line:col and a fix."""
    from focalctl.diagnostics.render import Report, formatters
    from focalctl.validate import validate_paths

    roots = paths or [Path(".")]
    with partial_cache(roots, no_cache) as cache:
        result = validate_paths(roots, cache, keep_nodes=False)
    report = Report(
        diagnostics=result.diagnostics,
        sources={f.path: f.raw for f in result.bundle.files},
        files=len(result.bundle.files),
        documents=result.bundle.document_count,
        max_shown=max_errors,
    )
    formatters()[fmt](report, sys.stdout, color=use_color())
    raise typer.Exit(EXIT_OK if result.ok(strict) else EXIT_ERROR)


@app.command()
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Bundle directories or files (default: .).")
    ] = None,
    fmt: DiagnosticFormatOpt = "text",
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
) -> None:
    """Find what is valid but likely wrong (warnings, FOC9xx).

    Effects that do not match what a tool says, goals with no fallback, slots nothing reads,
    offerings no agent reaches, steps no simulation reaches. Silence one finding with
    `# focal: disable=FOC9xx` on its line."""
    from focalctl.diagnostics.render import Report, formatters
    from focalctl.lint import lint_paths

    roots = paths or [Path(".")]
    result = lint_paths(roots)
    report = Report(
        diagnostics=result.diagnostics,
        sources={f.path: f.raw for f in result.bundle.files},
        files=len(result.bundle.files),
        documents=result.bundle.document_count,
        clean="are valid; lint found nothing" if result.valid else "are valid",
    )
    formatters()[fmt](report, sys.stdout, color=use_color())
    worst = {d.severity.value for d in result.diagnostics}
    failed = not result.valid or "error" in worst or (strict and "warning" in worst)
    raise typer.Exit(EXIT_ERROR if failed else EXIT_OK)


@app.command()
def schema(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the schemas to.")] = Path(
        "schemas"
    ),
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if the schemas in --out are stale.")
    ] = False,
) -> None:
    """Write one JSON Schema per kind, for editor completion and validation."""
    from focalctl import schema as schema_lib

    if check:
        stale = schema_lib.stale(out)
        if stale:
            fail(
                f"{len(stale)} schema file(s) in {out} are out of date: {', '.join(stale)}",
                f"run: focalctl schema --out {out}",
            )
        console().print(f"schemas in {escape(str(out))} are up to date")
        return
    try:
        written = schema_lib.write(out)
    except OSError as exc:
        fail(f"cannot write schemas to {out}: {exc.strerror or exc}", "choose a writable --out")
    console().print(
        f"wrote {len(written)} schema file(s) to {escape(str(out))}"
        if written
        else f"schemas in {escape(str(out))} are up to date"
    )


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create the bundle in.")],
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty directory.")
    ] = False,
) -> None:
    """Write a small, valid, commented bundle to start from."""
    from focalctl.scaffold import init as scaffold_init

    try:
        written = scaffold_init(directory, force=force)
    except (FileExistsError, OSError) as exc:
        fail(str(exc))
    c = console()
    for path in written:
        c.print(f"  created {escape(str(path))}")
    c.print(f"\nNext: [bold]focalctl validate {escape(str(directory))}[/]")


@app.command("fmt")
def fmt_cmd(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Bundle directories or files (default: .).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 listing the files that would change."),
    ] = False,
) -> None:
    """Lay out bundle files canonically (comments kept); rewrites them in place."""
    from focalctl.diagnostics.render import Report, formatters
    from focalctl.fmt import format_paths, write_result

    results, diags = format_paths(paths or [Path(".")])
    problems = diags + [d for r in results for d in r.errors]
    c, err = console(), console(stderr=True)
    for r in [r for r in results if r.changed]:
        if check:
            c.print(f"would reformat {escape(r.name)}")
        elif write_result(r):
            c.print(f"reformatted {escape(r.name)}")
    changed = [r for r in results if r.changed]
    if problems:
        sources = {r.name: r.original for r in results}
        formatters()["text"](
            Report(diagnostics=problems, sources=sources), sys.stderr, color=use_color(sys.stderr)
        )
    for r in results:
        if r.error:
            err.print(f"[bold red]error[/]: {escape(r.error)}")
    failed = sum(r.failed for r in results) + len(diags)
    unchanged = sum(not (r.changed or r.failed) for r in results)
    verb = "would be reformatted" if check else "reformatted"
    summary = f"{len(changed)} file(s) {verb}, {unchanged} unchanged"
    c.print(summary + (f", {failed} not formatted (errors above)" if failed else ""))
    raise typer.Exit(EXIT_ERROR if failed or (check and changed) else EXIT_OK)
