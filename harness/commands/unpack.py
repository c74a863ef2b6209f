"""`harness unpack ARCHIVE...`: unpack submission archives (zip, tar) from strangers safely, then check each folder.

Exit status 0 only when every archive unpacked and every folder is valid, 1 otherwise. A refused archive leaves
nothing behind; an unpacked folder with problems is kept (the output says where) so that they can be fixed there.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `unpack` subcommand."""
    from harness.commands.check import add_check_flags
    from harness.submissions.archive import MAX_UNPACKED_BYTES

    p = subparsers.add_parser(
        "unpack",
        help="unpack submission archives (zip, tar) safely and check the folders",
        description="Unpack each archive into a new submission folder after checking every member (no paths "
        "out of the folder, no links or devices, no decompression bombs, bounded size), then check the folder "
        "like `harness check`. Exit status 0 only when all unpacked and are valid.",
    )
    p.add_argument("archives", nargs="+", metavar="ARCHIVE", help="a .zip, .tar, .tar.gz, .tar.bz2 or .tar.xz")
    p.add_argument("-o", "--out", default="submissions", help="the folder to unpack into (default: submissions)")
    p.add_argument(
        "--max-bytes",
        type=int,
        default=MAX_UNPACKED_BYTES,
        metavar="N",
        help=f"refuse an archive that unpacks to more than N bytes (default: {MAX_UNPACKED_BYTES})",
    )
    add_check_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Unpack each archive, then check its folder as `harness check` does; 0 when all unpacked and are valid."""
    from pathlib import Path

    from harness.commands import check
    from harness.errors import UserError
    from harness.submissions.archive import unpack

    failed = 0
    for archive in args.archives:
        try:
            folder = unpack(Path(archive), Path(args.out), max_bytes=args.max_bytes)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        print(f"unpacked {archive} into {folder}")
        checked = argparse.Namespace(paths=[str(folder)], allow_pickle=args.allow_pickle, no_load=args.no_load)
        if check.run(checked):
            print(f"kept {folder} with its problems: fix them there, then run `harness check {folder}`")
            failed += 1
    if failed:
        print(f"unpacked {len(args.archives)} archive(s): {failed} refused or with problems")
        return 1
    print(f"unpacked {len(args.archives)} archive(s): all valid")
    return 0
