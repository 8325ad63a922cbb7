"""``itdr-eval`` command line: parse :class:`~itdr_eval.config.EvalConfig`, call :func:`itdr_eval.runner.run`."""

from __future__ import annotations

import sys

from .config import parse_config


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(argv)
    from .runner import run

    results = run(cfg)
    if results is not None:
        s = results["summary"]
        if results.get("baselines"):  # issue 12: --baselines prints its tables
            from .baselines import render_markdown

            print(render_markdown(results["baselines"], results.get("cells", [])))
        print(f"pUII={s['pUII']:.2f} pUIU={s['pUIU']:.2f}  ->  {cfg.output}/results.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
