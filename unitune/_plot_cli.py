"""``unitune plot --study NAME --kind KIND [--out FILE.png|.html]``: a stored study drawn
by ``optuna.visualization`` (``unitune/plots.py``), whichever engine ran it; and
``unitune export --study NAME --format csv|parquet|json [--out FILE]``: its trials,
one row each (``Result.to_dataframe``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from unitune._cli_common import DEFAULT_STORAGE, storage_arg
from unitune._export import FORMATS
from unitune._fit import KINDS
from unitune._objective_file import UsageError
from unitune._script import positive

__all__ = ["add_export", "add_plot", "cmd_export", "cmd_plot"]

_PICTURES = (".png", ".svg", ".pdf")  # drawn with matplotlib; .html with plotly


def add_plot(sub: Any) -> None:
    p = sub.add_parser(
        "plot", help="draw a study (history, importance, pareto...) as PNG or HTML",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="kinds:\n" + "\n".join(f"  {k:<13} {what}" for k, what in KINDS.items()))
    p.add_argument("--study", action="append", required=True, metavar="NAME",
                   help="the study to draw; repeat it for --kind edf")
    p.add_argument("--storage", help=f"file path or database URL (default {DEFAULT_STORAGE}, "
                   "or $UNITUNE_STORAGE)")
    p.add_argument("--kind", required=True, choices=list(KINDS), metavar="KIND",
                   help=f"one of {', '.join(KINDS)}")
    p.add_argument("--out", help="FILE.png (or .svg, .pdf: matplotlib) or FILE.html "
                   "(plotly, interactive); default KIND.png")
    p.add_argument("--params", nargs="+", metavar="PARAM", help="the params to draw "
                   "(importance, parallel, slice, contour; default all)")
    p.add_argument("--target", help="the value to draw of a multi-objective study: a metric "
                   "name or an index (default the first)")
    p.add_argument("--dpi", type=positive(int), default=100, help="a picture's dots per "
                   "inch (default 100)")
    p.set_defaults(func=cmd_plot)


def add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="the trials of a study as CSV, Parquet or JSON")
    p.add_argument("--study", required=True, metavar="NAME")
    p.add_argument("--storage", help=f"file path or database URL (default {DEFAULT_STORAGE}, "
                   "or $UNITUNE_STORAGE)")
    p.add_argument("--format", choices=FORMATS, help="default: --out's suffix, else csv")
    p.add_argument("--out", help="the file to write (default: standard output; csv and json)")
    p.set_defaults(func=cmd_export)


def cmd_plot(args: argparse.Namespace) -> int:
    from unitune.ledger import open_existing
    from unitune.plots import draw

    out = Path(args.out or f"{args.kind}.png")
    html = out.suffix.lower() == ".html"
    if not html and out.suffix.lower() not in _PICTURES:
        raise UsageError(f"--out {str(out)!r}: give FILE.html or FILE with a suffix among "
                         f"{', '.join(_PICTURES)}")
    _check_folder(out)
    storage = storage_arg(args)
    studies = [_optuna_study(open_existing(name, storage)) for name in args.study]
    target = int(args.target) if args.target and args.target.isdigit() else args.target
    figure = draw(studies, args.kind, params=args.params, target=target, plotly=html)
    if html:
        figure.write_html(out)
    else:
        import matplotlib.pyplot as plt

        figure.savefig(out, dpi=args.dpi, bbox_inches="tight")
        plt.close(figure)
    print(f"{args.kind} of {', '.join(args.study)} written to {out}")
    return 0


def _optuna_study(ledger: Any) -> Any:
    import optuna

    return optuna.load_study(study_name=ledger.study_name, storage=ledger.storage)


def _check_folder(out: Path) -> None:
    if not out.parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist")


def cmd_export(args: argparse.Namespace) -> int:
    from unitune._export import write
    from unitune.ledger import open_existing

    out = Path(args.out) if args.out else None
    fmt = args.format
    if fmt is None:
        suffix = out.suffix.lower().lstrip(".") if out else ""
        fmt = suffix if suffix in FORMATS else "csv"
    if out is not None:
        _check_folder(out)
    frame = open_existing(args.study, storage_arg(args)).result().to_dataframe()
    try:
        write(frame, fmt, out)
    except BrokenPipeError:  # `unitune export ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
