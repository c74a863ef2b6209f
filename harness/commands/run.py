"""`harness run TRACK`: evaluate every submission on the track's tasks with its measurement settings, writing records."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import add_device_flags, add_skip_measure_flag, positive_int, track_skip
from harness.evaluation.limits import DEFAULT_JOBS, DEFAULT_TIMEOUT_S, MEMORY_SHARE
from harness.evaluation.pool import EXECUTORS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a track: evaluate and measure every submission, writing result records")
    p.add_argument("track", help="track id (`harness tracks`) or a track file")
    p.add_argument(
        "--submissions", type=Path, default=Path("submissions"), help="submissions folder (default: submissions)"
    )
    p.add_argument("--submission", action="append", dest="only", metavar="ID", help="only this submission (repeatable)")
    p.add_argument(
        "--limit", type=positive_int, help="only the first N examples per task (quick checks; marked on the board)"
    )
    p.add_argument("--data-dir", help="local mirror of the data (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--tracks", help="tracks folder (default: tracks/ beside the package)")
    p.add_argument("--allow-pickle", action="store_true", help="organizer's opt-in to pickle weights")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_device_flags(p, dtype_default=None)
    add_skip_measure_flag(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="run every job again, also those whose ok record exists (by default a run finishes only what is left)",
    )
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: each job in a worker process of its own, under the limits below (default); ray: the same "
        "workers on a Ray cluster (--address; submissions and data at the same paths on every node); inline: every "
        "job in this process, without isolation (debugging)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster to send jobs to (ray://host:10001, or auto); default: start a local Ray instance",
    )
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=DEFAULT_JOBS,
        help=f"evaluation-only jobs run at once, each on its own CPUs (default {DEFAULT_JOBS}); jobs that time "
        "latency or track energy always run alone",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"wall-time limit per job in seconds; a worker past it is killed (default {DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--memory",
        metavar="SIZE",
        help="memory limit per job (address space, e.g. 4G); an allocation past it fails the job "
        f"(default: {MEMORY_SHARE:.0%} of this machine's memory, divided by the jobs that run at once)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the track; exit 1 when a task failed or a submission folder was invalid, 0 otherwise."""
    from harness.errors import UserError
    from harness.evaluation.limits import Limits, check_timeout, default_memory, parse_memory
    from harness.evaluation.pool import cpu_sets
    from harness.evaluation.track import run_track
    from harness.tracks.definitions import get_track

    if args.address and args.executor != "ray":
        raise UserError(
            f"--address {args.address} names a Ray cluster, but the executor is {args.executor}",
            fix="add --executor ray, or leave --address out",
        )
    check_timeout(args.timeout)
    # by default the machine's memory is shared by the jobs that can run at once: one per CPU set at most
    at_once = args.jobs if args.executor == "ray" else len(cpu_sets(args.jobs))
    memory = parse_memory(args.memory) if args.memory else default_memory(at_once)
    limits = Limits(timeout_s=args.timeout, memory_bytes=memory, jobs=args.jobs)
    track = get_track(args.track, args.tracks)
    skip = track_skip(track, args.skip_measure)
    try:
        records, skipped = run_track(
            track,
            args.submissions,
            data_dir=args.data_dir,
            results_dir=args.results,
            limit=args.limit,
            allow_pickle=args.allow_pickle,
            only=args.only,
            progress=not args.no_progress,
            skip=skip,
            force=args.force,
            executor=args.executor,
            limits=limits,
            address=args.address,
            device=args.device,
            dtype=args.dtype,
        )
    except KeyboardInterrupt as e:
        ended = "" if args.executor == "inline" else "; every worker was ended"
        print(f"{e or 'interrupted'}{ended}; the jobs left are pending: run the same command again to finish them")
        return int(getattr(e, "exit_status", 130))
    print(
        f"{len(records)} record(s) written under {args.results}; rank them with: harness rank {track.id} "
        f"--results {args.results}"
    )
    return 1 if skipped or any(not r.ok for r in records) else 0
