"""``focalctl simulate``: a local dry-run of the bundle's Simulation documents."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from focalctl.cli.app import app
from focalctl.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, console, fail, use_color

if TYPE_CHECKING:
    from focalctl.simulate import Suite


@app.command()
def simulate(
    path: Annotated[
        Path | None, typer.Argument(help="The bundle directory or file (default: .).")
    ] = None,
    tests: Annotated[
        list[Path] | None,
        typer.Option("--tests", help="A directory of Simulation files kept outside the bundle."),
    ] = None,
    pattern: Annotated[
        str | None,
        typer.Option(
            "-k", help="Run only simulations whose name or TENANT/NAME contains this (or globs)."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json or junit.")] = "text",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Also write results.json, junit.xml and one transcript per simulation."
        ),
    ] = None,
) -> None:
    """Replay scripted conversations through the real runtime, tools stubbed, clock simulated.

    Exit 0 when every simulation passes, 1 when one fails (or the bundle does not validate),
    2 on usage errors (nothing to run).
    """
    from focalctl.simulate import run_suite, views

    if fmt not in views.FORMATS:
        fail(f"--format {fmt!r} is not one of {', '.join(views.FORMATS)}", code=EXIT_USAGE)
    roots = [path or Path("."), *(tests or [])]
    for root in roots:
        if not root.exists():
            fail(f"{root} does not exist", "pass a bundle directory or file", code=EXIT_USAGE)
    suite = run_suite(roots, pattern)
    if suite.diagnostics:
        from focalctl.diagnostics.render import Report, formatters

        report = Report(diagnostics=suite.diagnostics, sources=suite.sources, files=0, documents=0)
        formatters()["text"](report, sys.stderr, color=use_color())
        fail("the bundle does not validate; fix it, then simulate again")
    if not suite.results:
        what = f"no simulation matches -k {pattern!r}" if suite.found else "no Simulation documents"
        fail(
            f"{what} in {', '.join(str(r) for r in roots)}",
            "add kind: Simulation files to the bundle or pass --tests DIR",
            code=EXIT_USAGE,
        )
    if out is not None:
        _write(out, suite)
    if fmt == "json":
        views.write_json(suite, sys.stdout)
    elif fmt == "junit":
        views.junit(suite, sys.stdout)
    else:
        views.text(suite, console())
        if out is not None:
            console().print(f"[dim]results written to {escape(str(out))}[/]")
    raise typer.Exit(EXIT_OK if suite.passed else EXIT_ERROR)


@app.command()
def suggest(
    path: Annotated[
        Path | None, typer.Argument(help="The bundle directory or file (default: .).")
    ] = None,
    edge_cases: Annotated[
        bool,
        typer.Option(
            "--edge-cases",
            help="Simulations of the risky paths: a duplicate at each checkpoint, a declined "
            "confirmation, a burst, a follow-up never answered, each fallback hop.",
        ),
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", help="Directory to write the Simulation files to.")
    ] = Path("suggested"),
) -> None:
    """Write Simulation skeletons for the risky paths (a duplicate, a decline, a burst, ...).

    They are derived from the bundle's own simulations (which know how to reach each step);
    run them with: focalctl simulate PATH --tests OUT."""
    import json

    from focalctl.compile.build import compile_bundle
    from focalctl.simulate import _run_all
    from focalctl.suggest import edge_cases as derive
    from focalctl.suggest import write
    from focalctl.validate import validate_paths

    if not edge_cases:
        fail("say what to suggest", "focalctl suggest --edge-cases", code=EXIT_USAGE)
    root = path or Path(".")
    if not root.exists():
        fail(f"{root} does not exist", "pass a bundle directory or file", code=EXIT_USAGE)
    validation = validate_paths([root])
    if any(d.severity.value == "error" for d in validation.diagnostics):
        fail("the bundle does not validate", f"run: focalctl validate {root}")
    bundle = validation.bundle
    simulations = [bundle.object(r) for r in bundle.sorted_refs() if r.kind == "Simulation"]
    if not simulations:
        fail(
            "no Simulation documents to derive edge cases from",
            "write one simulation of a happy path first (see focalctl simulate --help)",
        )
    compiled = compile_bundle(bundle)
    results = _run_all(simulations, {t: (s.id, s.raw) for t, s in compiled.items()})
    bodies = {t: json.loads(s.raw) for t, s in compiled.items()}
    suggestions = derive(simulations, results, bodies)
    try:
        written = write(suggestions, out)
    except OSError as exc:
        fail(f"cannot write to {out}: {exc.strerror or exc}", "choose a writable --out directory")
    c = console()
    for s, file in zip(suggestions, written, strict=True):
        c.print(f"  [green]+[/] {escape(str(file))}  [dim]{escape(s.reason)}[/]")
    c.print(
        f"{len(written)} simulation(s) written; run them with: "
        f"focalctl simulate {escape(str(root))} --tests {escape(str(out))}"
    )


def _write(out: Path, suite: Suite) -> None:
    import json

    from focalctl.simulate import views

    try:
        out.mkdir(parents=True, exist_ok=True)
        with (out / "results.json").open("w") as f:
            views.write_json(suite, f)
        with (out / "junit.xml").open("w") as f:
            views.junit(suite, f)
        with (out / "audit.jsonl").open("w") as f:  # for focalctl report --audit
            for result in suite.results:
                for event in result.audit_log:
                    f.write(json.dumps(event, ensure_ascii=False) + "\n")
        for result in suite.results:
            folder = out / result.tenant
            folder.mkdir(exist_ok=True)
            (folder / f"{result.name}.txt").write_text("\n".join(views.transcript(result)) + "\n")
    except OSError as exc:
        fail(f"cannot write to {out}: {exc.strerror or exc}", "choose a writable --out directory")
