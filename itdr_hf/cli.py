"""``itdr-build``: parse options, call :func:`itdr_hf.assemble.build_dataset`, print the report.

Every construction option comes from :class:`~itdr_hf.config.BuildConfig`; its help text is
written there once. Heavy imports wait until after parsing, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Sequence

from .config import BuildConfig
from .options import add_flags, from_flags
from .references.config import ReferenceConfig


class _HelpFormatter(argparse.HelpFormatter):
    """Wrap help at spaces and after commas only: the default breaks at hyphens, cutting ``A<->B`` in two."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines: list[str] = []
        for word in text.split():
            for i, piece in enumerate(re.findall(r"[^,]+,?|,", word)):
                glue = "" if i else " "
                if lines and len(lines[-1]) + len(glue) + len(piece) <= width:
                    lines[-1] += glue + piece
                else:
                    lines.append(piece)
        return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itdr-build",
        formatter_class=_HelpFormatter,
        description="Build ITDR (arXiv 2508.05667) from its public sources into a Hugging Face dataset folder "
        "(Parquet + README card) that load_dataset(<folder>, <config>) reads.",
    )
    parser.add_argument(
        "--output", "-o", default="itdr",
        help="Folder to write, replaced atomically; it may only be new, empty or an earlier itdr build, and never "
        "the --data-dir or a folder holding or inside it. Default: ./itdr",
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="Replace --output even when it is a folder that is not an itdr build (everything in it is deleted).",
    )
    parser.add_argument(
        "--data-dir",
        help="Folder with already-downloaded raw files: a source's own folder (e.g. ml-32m/) or a parent holding "
        "one folder per source. Sources not found there are downloaded where their terms allow.",
    )
    parser.add_argument("--sources", help="Comma-separated source names (default: every source of the paper).")
    parser.add_argument("--subtasks", help="Comma-separated subtask names (default: all seven).")
    parser.add_argument("--demo", action="store_true", help="Build from the small synthetic sample bundled with the package; no network.")
    parser.add_argument("--repo-id", default="itdr", help="Dataset id shown in the card's usage example.")
    parser.add_argument("--list", action="store_true", help="List the known sources and subtasks and exit.")
    parser.add_argument(
        "--workers", type=int, default=min(os.cpu_count() or 1, 4),
        help="Processes generating cells in parallel; the output is identical for any number. Default: CPUs, at most 4.",
    )
    parser.add_argument(
        "--transparent-huge-pages", action="store_true",
        help="Let the kernel back the build's memory with 2 MiB pages where the allocator asks (Linux). Off by "
        "default: on a VM whose host takes free memory back they made a MovieLens 32M build 1.5-1.7x slower, "
        "for 3%% less CPU time. The output is the same either way.",
    )
    group = parser.add_argument_group("construction options (defaults follow the paper)")
    add_flags(group, BuildConfig)
    ReferenceConfig.add_arguments(parser)
    from .card import CardOptions

    CardOptions.add_arguments(parser)
    return parser


def _names(value: str | None, option: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        from .errors import ConfigError

        raise ConfigError(
            f"{option} {value!r} names nothing; give comma-separated names (itdr-build --list shows them), "
            f"or leave {option} out to build them all"
        )
    return names


class _Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so the build's cleanup runs."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(args)
    except (KeyboardInterrupt, _Terminated) as exc:
        name = "SIGTERM" if isinstance(exc, _Terminated) else "interrupt"
        print(f"itdr-build: stopped by {name}; the unfinished build was removed and {args.output} is unchanged",
              file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(args: argparse.Namespace) -> int:
    from .errors import ItdrError

    try:
        if args.list:
            return _list()
        if not args.transparent_huge_pages:
            from .heap import disable_transparent_huge_pages

            disable_transparent_huge_pages()  # before the read allocates anything big
        from .assemble import build_dataset
        from .pipeline import Selection
        from .report import as_table

        config = from_flags(BuildConfig, args)
        sources = _names(args.sources, "--sources")
        selection = Selection(
            subtasks=_names(args.subtasks, "--subtasks") or (),
            sources=sources,
            data_dir=args.data_dir,
            demo=args.demo,
            strict=sources is not None,
        )
        references = ReferenceConfig.from_arguments(args)
        from .card import CardOptions

        result = build_dataset(
            args.output, selection, config, repo_id=args.repo_id, references=references,
            card_options=CardOptions.from_arguments(args), workers=args.workers, overwrite=args.overwrite,
        )
    except ItdrError as exc:
        print(f"itdr-build: error: {exc}", file=sys.stderr)
        return 2
    print(as_table(list(result.stats), list(result.skipped), list(result.skipped_lines), result.sources))
    print(f"\nwrote {result.output} with configs: {', '.join(result.configs)}")
    print(f'load it with: load_dataset("{result.output}", "{result.configs[0]}")')
    for warning in result.warnings:
        print(f"itdr-build: {warning}", file=sys.stderr)
    return 0


def _list() -> int:
    from .matrix import sources_of
    from .sources import SOURCES
    from .subtasks import ordered_names

    print("subtasks:")
    for name in ordered_names():
        print(f"  {name}: {', '.join(s for s in sources_of(name) if s in SOURCES) or '-'}")
    print("sources (folder under --data-dir: files):")
    for name in SOURCES.names():
        source = SOURCES.get(name)
        how = "downloads itself" if source.remote else "manual download"
        folder = source.folder_names[0] if source.folder_names else name
        print(f"  {name}: {source.title} ({how}; {source.homepage})")
        print(f"      {folder}/: {', '.join(source.required_files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
