"""``itdr-publish``: parse options, call :func:`itdr_hf.publish.publish`.

Options come from :class:`~itdr_hf.publish.PublishOptions` (help text written there once).
``datasets`` is imported only when the folder is validated, after parsing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    from .publish import PublishOptions

    help_of = {f.name: f.metadata["help"] for f in PublishOptions.__dataclass_fields__.values()}
    parser = argparse.ArgumentParser(
        prog="itdr-publish",
        description="Release a folder built by itdr-build to the Hugging Face Hub: one commit with every Parquet "
        "file and the card, then the tag v<version>. Token: HF_TOKEN, or trusted publishing in GitHub Actions.",
    )
    parser.add_argument("folder", help="The build folder (README.md + <config>/<split>-*.parquet).")
    parser.add_argument("--repo", dest="repo_id", required=True, help=help_of["repo_id"])
    parser.add_argument("--version", required=True, help=help_of["version"])
    parser.add_argument("--force-tag", action="store_true", help=help_of["force_tag"])
    parser.add_argument("--dry-run", action="store_true", help=help_of["dry_run"])
    visibility = parser.add_mutually_exclusive_group(required=True)
    visibility.add_argument("--private", dest="private", action="store_true", default=None, help=help_of["private"])
    visibility.add_argument("--public", dest="private", action="store_false", help="The opposite of --private.")
    parser.add_argument("--allow-demo", action="store_true", help=help_of["allow_demo"])
    parser.add_argument("--endpoint", help=help_of["endpoint"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .errors import ItdrError
    from .publish import PublishOptions, publish

    try:
        options = PublishOptions(
            repo_id=args.repo_id,
            version=args.version.removeprefix("v"),
            force_tag=args.force_tag,
            dry_run=args.dry_run,
            private=args.private,
            allow_demo=args.allow_demo,
            endpoint=args.endpoint,
        )
        result = publish(args.folder, options)
    except ItdrError as exc:
        print(f"itdr-publish: error: {exc}", file=sys.stderr)
        return 2
    if result.tag:
        load = f'load_dataset("{options.repo_id}", "{result.plan.configs[0]}", revision="{result.tag}")'
        print(f"released {options.repo_id} {result.tag}: {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
