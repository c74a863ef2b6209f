"""`harness leaderboard`: render the static leaderboard site (pages, plots, exports) from result records."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="build the static leaderboard site (tables, plots, exports) from records")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--out", type=Path, help="site folder (default: RESULTS/site)")
    p.add_argument("--tracks", help="tracks folder (default: tracks/ beside the package)")
    p.add_argument("--serve", action="store_true", help="then serve the site on 127.0.0.1 until Ctrl-C")
    p.add_argument("--port", type=int, default=0, help="port for --serve (default: any free port)")
    p.set_defaults(func=run)


def serve(folder: Path, port: int = 0) -> int:
    """Serve `folder` on 127.0.0.1 (a free port unless given) until Ctrl-C."""
    import functools
    import http.server

    from harness.errors import UserError

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise UserError(f"cannot serve on 127.0.0.1:{port} ({e})", fix="pass another --port or omit it") from e
    with server:
        print(f"serving {folder} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped")
    return 0


def run(args: argparse.Namespace) -> int:
    """Rank every track from the records, render the site (plots in parallel), write it, optionally serve it."""
    import os

    from harness import __version__
    from harness.publish.boards import build_boards, build_time
    from harness.publish.site.build import build_site, write_site

    out = args.out or args.results / "site"
    workers = os.cpu_count() or 1
    boards, records = build_boards(args.results, args.tracks, workers)
    files = build_site(boards, records, {"generated_at": build_time(), "harness_version": __version__}, workers=workers)
    write_site(files, out, workers=workers)
    subs = len({str(r.submission.id) for r in records})
    print(
        f"wrote {len(files)} files for {len(boards)} tracks and {subs} submissions to {out}; open {out / 'index.html'}"
    )
    return serve(out, args.port) if args.serve else 0
