"""``itdr-eval`` command line: parse :class:`~itdr_eval.config.EvalConfig`, call :func:`itdr_eval.runner.run`.

Expected failures (an unloadable model or dataset, a missing folder, mismatched predictions,
out-of-memory, ...) print one line ``itdr-eval: error: ...`` and exit with status 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import sys

from .config import parse_config


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        cfg = parse_config(args)
        from .runner import run

        results = run(cfg)
    except Exception as exc:
        if debug:
            raise
        print(f"itdr-eval: error: {_message(exc)}", file=sys.stderr)
        return 2
    if results is not None:
        s = results["summary"]
        if results.get("baselines"):  # --baselines prints its tables
            from .baselines import render_markdown

            print(render_markdown(results["baselines"], results.get("cells", [])))
        print(f"pUII={s['pUII']:.2f} pUIU={s['pUIU']:.2f} (--summary {s['method']})  ->  {cfg.output}/results.md",
              file=sys.stderr)
    return 0


def _message(exc: BaseException) -> str:
    from .errors import EvalError, first_line, is_oom

    if isinstance(exc, EvalError):
        return str(exc)
    try:
        if is_oom(exc):
            return (f"out of accelerator memory ({first_line(exc)}); use --batch-size auto (backs off on OOM) or a "
                    f"smaller --batch-size / --max-length / --cutoff-len, or --activation-checkpointing for training")
    except ImportError:
        pass
    if isinstance(exc, (ValueError, KeyError, FileNotFoundError, PermissionError)):
        return first_line(exc).partition(": ")[2] or first_line(exc)
    return f"{first_line(exc)} (run again with --debug for the traceback)"


if __name__ == "__main__":
    raise SystemExit(main())
