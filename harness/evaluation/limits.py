"""The limits a job's worker process runs under, and how a worker that broke one is described in its record.

Memory: an address-space rlimit (RLIMIT_AS) set by the worker on itself before any submission file is read. An
allocation past it fails inside the worker (Python's MemoryError, torch's "can't allocate memory", onnxruntime's
"Failed to allocate"), which the failed record names as the limit; a native crash on the way shows as its signal.
cgroup v2 would count resident memory instead, but needs a delegated cgroup that a laptop or a container rarely
gives, so the harness does not depend on one. Time: the organizer's process kills the worker's whole process group
when it runs past its wall-time limit. Network: the worker enters new user and network namespaces where the kernel
allows unprivileged ones (Linux), so it has only a loopback device that is down; elsewhere it says so.
Processes: the job runs in a new PID namespace, under an init process of the harness's own, so that every process
it starts ends with it, even one that left the worker's process group (setsid, a double fork): the kernel kills
what is left in a namespace when its init ends, and the init ends with the job or with the worker.
Files: the worker enters a mount namespace of its own in which every file system is read-only to the job (the
task data, the harness's code, the results folder, other submissions) but for its job folder, where it writes its
record for the organizer to check and take (harness.evaluation.adopt); its scratch folder there is also mounted at
/tmp (or /var/tmp, when /tmp holds the job folder) and is its $TMPDIR, and it gets a /dev/shm of its own, so that
no job leaves a file that a later one reads. The organizer's mounts never change: the namespace's mounts are made
private before anything is remounted. The job then gets a /proc of its own, read-only kernel settings, and loses
the capabilities that would undo the mounts (seal_files). Its /dev is a read-only tmpfs of its own holding only
null, zero, full, random and urandom (and a GPU job's GPU nodes), bound from the machine's: a job of an organizer
running as root could otherwise read or write a disk or loop device raw, around every read-only mount; no device
node elsewhere opens (nodev). Sockets: a daemon's Unix socket answers on a read-only file system, so each of the
machine's that /proc/net/unix lists when the job starts has /dev/null bound over it (a connection is refused), and
/run is empty. The organizer's home folders are empty to the job but for the paths it needs, and the files it names
as secrets (the hub's token) read empty. A folder it must read and may write (the hub's cache, which `datasets`
locks) is a copy of its own: an overlay whose writes go with it. A seccomp filter refuses io_uring, the kernel's
interface most often exploited, and another ABI's calls (filter_syscalls).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import math
import os
import re
import select
import signal
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn, Sequence

from harness.errors import UserError

# Defaults that suit a laptop: one job at a time, an hour per job (MNLI's 9,815 dev pairs through BERT-base take
# about 20 minutes on 1 CPU thread), and three quarters of the machine's memory shared by the parallel jobs.
DEFAULT_JOBS = 1
DEFAULT_TIMEOUT_S = 3600.0
MEMORY_SHARE = 0.75
# Below this a worker cannot import torch and transformers (their address space alone is about 0.7 GiB).
MIN_MEMORY_BYTES = 1 << 30

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
# the last: the dynamic loader, when a shared library (an extension module) no longer fits in the address space
_ALLOCATION_FAILED = re.compile(
    r"MemoryError|can't allocate memory|std::bad_alloc|Failed to allocate|out of memory|Cannot allocate memory"
    r"|failed to map segment from shared object",
    re.IGNORECASE,
)
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNS = 0x00020000
# mount(2)'s flags (linux/mount.h)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 0x400, 0x800, 0x200000, 0x1000000
# A mount's own options that a remount repeats: in a user namespace the kernel refuses one that would drop them.
KEPT_MOUNT_OPTIONS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}
MOUNTINFO = Path("/proc/self/mountinfo")
# Left as they are: the kernel's interfaces and the devices (a job writes /proc/self/clear_refs to measure its
# memory, and /dev/null; torch keeps shared memory in /dev/shm), the job's own /dev included.
SYSTEM_MOUNTS = ("/proc", "/dev")
# The job's /dev: a tmpfs (read-only once built, DEV_BYTES: it holds only mount points and links) with these of the
# machine's device nodes bound in, the links a process expects there, and its own /dev/shm.
DEV = "/dev"
DEV_BYTES = 1 << 20
JOB_DEVICES = ("null", "zero", "full", "random", "urandom")
# ... and, for a job on a GPU, the nodes that match these: NVIDIA's (its GPUs, control, unified memory and capability
# nodes), DRM's (/dev/dri: its cards and render nodes) and AMD's compute node
NVIDIA_GPUS = "/proc/driver/nvidia/gpus"  # a folder per GPU the driver found
GPU_DEVICES = ("nvidia*", "dri", "kfd")
JOB_DEV_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}
MNT_DETACH = 2  # umount2(2)'s flag
GPU_NODES_TIMEOUT_S = 30  # nvidia-modprobe loads a kernel module and makes nodes: seconds; past this it is stuck
# Folders a job never needs but where it would find the organizer's keys, tokens and credentials (~/.ssh, the hub's
# token, ~/.aws ...) or daemons' sockets and state (/run): each is covered by an empty read-only tmpfs
# (HIDDEN_BYTES: it holds only mount points) with just the paths the job needs bound back in. "~": the home folder.
HIDDEN_PLACES = ("~", "/root", "/home", "/run")
HIDDEN_BYTES = 1 << 20
# Paths a job needs besides its own, Python's and the loaded packages': the variables' entries (its programs, its
# native libraries, CUDA's toolkit), and the packages it imports later, wherever they are installed
PATH_VARIABLES = ("PATH", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH")
JOB_PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "numpy", "onnxruntime", "datasets", "codecarbon")
# A folder a job reads through a copy of its own (the hub's cache: `datasets` writes a lock file at every load) is an
# overlay whose upper layer, all that the job writes, is a tmpfs of OVERLAY_BYTES that goes with it. Overlay's
# options separate folders with these: a path holding one cannot be given.
OVERLAY_BYTES = 64 << 20
OVERLAY_SPECIAL = (",", ":", "\\")
# Where a job's scratch folder is mounted, the first that holds none of its writable folders: a short $TMPDIR (a
# Unix socket's path has at most 107 bytes, and multiprocessing puts its own there) and a /tmp that works.
TEMPORARY_PLACES = ("/tmp", "/var/tmp")
# The job's /dev/shm, a tmpfs of its own (no job reads what another left there); its files are memory outside the
# address-space limit, so it is bounded apart: torch passes DataLoader batches through it.
SHM = "/dev/shm"
SHM_BYTES = 1 << 30
# ... but in the job's own /proc these are read-only, as container runtimes make them: the kernel's settings (a
# root job could point core_pattern at a program of its own) and its triggers.
KERNEL_SETTINGS = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")
# The capabilities a job keeps (linux/capability.h): those of an owner over its own files and processes. Every
# other one is dropped: they would undo its mounts (CAP_SYS_ADMIN), open a file by its handle around them
# (CAP_DAC_READ_SEARCH), make a device node of a disk (CAP_MKNOD), load kernel code, trace, and so on.
KEPT_CAPABILITIES = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
}
LAST_CAPABILITY = Path("/proc/sys/kernel/cap_last_cap")
LINUX_CAPABILITY_VERSION_3 = 0x20080522
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# A seccomp filter (linux/seccomp.h, linux/filter.h, linux/audit.h): classic BPF over struct seccomp_data, whose
# syscall number is at offset 0 and its architecture at 4.
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06
SECCOMP_NR, SECCOMP_ARCH = 0, 4
# Per machine: the architecture's audit number (AUDIT_ARCH_*); io_uring_setup is 425 on both
SECCOMP_ARCHES = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SYS_IO_URING_SETUP = 425
X32_SYSCALL_BIT = 0x40000000  # x86_64's other ABI: its calls carry this bit (none of them is let through)
# Linux procfs: a new user namespace's id maps, written by the process itself (setgroups first, as the kernel asks)
SETGROUPS = Path("/proc/self/setgroups")
UID_MAP = Path("/proc/self/uid_map")
GID_MAP = Path("/proc/self/gid_map")


@dataclass(frozen=True)
class Limits:
    """What each job's worker may use: wall time in seconds, memory in bytes (address space), parallel jobs."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_bytes: int = MIN_MEMORY_BYTES
    jobs: int = DEFAULT_JOBS

    def plain(self) -> dict[str, Any]:
        """As the worker block of a record's environment states them."""
        return {
            "timeout_s": self.timeout_s,
            "memory_bytes": self.memory_bytes,
            "memory": format_bytes(self.memory_bytes),
        }


# A worker's watchdog is signal.alarm, whose seconds are a C unsigned int; a job past 30 days is a hang anyway.
MAX_TIMEOUT_S = 30 * 24 * 3600
# setrlimit takes a C long (rlim_t): a limit past it cannot be set at all.
MAX_MEMORY_BYTES = (1 << 63) - 1


def check_timeout(seconds: float) -> float:
    """`seconds` as a job's wall-time limit, or a UserError naming --timeout and the accepted range."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise UserError(f"--timeout {seconds:g} is not a time", fix="give the seconds a job may run, e.g. 3600")
    if seconds > MAX_TIMEOUT_S:
        raise UserError(
            f"--timeout {seconds:g} is past the longest limit a worker sets ({MAX_TIMEOUT_S} s, 30 days)",
            fix=f"give at most {MAX_TIMEOUT_S} seconds; a job that runs longer is hung",
        )
    return seconds


def default_memory(jobs: int) -> int:
    """Three quarters of the machine's physical memory, shared by `jobs` parallel workers."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(MIN_MEMORY_BYTES, int(total * MEMORY_SHARE / max(jobs, 1)))


def parse_memory(text: str) -> int:
    """Bytes from "4G", "512M", "2.5g" or a plain number of bytes; a bad value is refused with the accepted forms."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise UserError(f"--memory {text!r} is not a size", fix="write it as 4G, 512M or a number of bytes")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value > MAX_MEMORY_BYTES:
        raise UserError(
            f"--memory {text} is past the largest limit the kernel takes ({format_bytes(MAX_MEMORY_BYTES)})",
            fix="give the memory a job may use, e.g. 4G",
        )
    if value < MIN_MEMORY_BYTES:
        raise UserError(
            f"--memory {text} is below {format_bytes(MIN_MEMORY_BYTES)}",
            fix="a worker needs that much to import torch and transformers; give it at least 1G",
        )
    return value


def format_bytes(n: int) -> str:
    """A size as the messages state it: 4 GiB, 1.5 GiB, 512 MiB."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"


def enter_limits(
    memory_bytes: int | None,
    cpus: list[int] | None,
    parent: int | None = None,
    writable: Mapping[str, Path] | None = None,
    scratch: Path | None = None,
    reads: Sequence[str] = (),
    gpu: bool = False,
    overlaid: Mapping[str, Path] | None = None,
    blanked: Sequence[str] = (),
) -> dict[str, Any]:
    """Put this process under the memory limit, on its CPU set, off the network and (given `writable`) with
    read-only files but for those folders, `scratch` (its $TMPDIR) and a copy of its own of the `overlaid` ones,
    the files `blanked` read empty, the machine's Unix sockets covered, a /dev of its own (with the GPU's nodes for
    a `gpu` job) and the home folders hidden (files_read_only), under a seccomp filter, tied to its `parent` (it
    dies with it); returns what applied, as the record's environment states it. Called by a worker first thing,
    while it has one thread."""
    import resource

    applied: dict[str, Any] = {}
    if parent is not None:
        applied["dies_with_organizer"] = die_with_parent(parent)
    if memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        capped = " (capped by the organizer's own hard limit)" if limit < memory_bytes else ""
        applied["memory_limit"] = f"{format_bytes(limit)} of address space (RLIMIT_AS){capped}"
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
        applied["cpus"] = sorted(cpus)
    if gpu:
        make_gpu_nodes()
    sockets = machine_sockets()  # listed while this process still sees the machine's network namespace
    applied["network"] = network_off()
    if writable is not None:
        applied["files"] = files_read_only(
            writable, scratch, reads, gpu, sockets=sockets, overlaid=overlaid, blanked=blanked
        )
    applied["processes"] = contain_processes()
    if "mount namespace)" in applied.get("files", ""):  # entered: sealed even where a step fell short
        sealed, how = seal_files(applied["processes"].startswith("contained"))
        claimed = applied["files"].startswith("read-only")
        applied["files"] = ("" if sealed or not claimed else "not read-only: ") + applied["files"] + how
    applied["syscalls"] = filter_syscalls()
    return applied


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> bool:
    """Ask the kernel to SIGKILL this process when its parent ends (Linux), so that a worker never outlives an
    organizer killed without cleanup; exit now if the parent is already gone. Whether the kernel took it."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    took = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    if os.getppid() != parent:
        os._exit(1)  # the organizer ended before the request took effect: nobody waits for this job
    return took


def network_off() -> str:
    """Leave the network: new user and network namespaces (only a loopback device, down). Returns how, or why not."""
    entered, how = _unshare(CLONE_NEWNET)
    if not entered:
        return f"not isolated: {how}"
    if how.startswith("own user"):
        return "none (own user and network namespace" + how.removeprefix("own user") + ")"
    return "none (own network namespace)"


def files_read_only(
    writable: Mapping[str, Path],
    scratch: Path | None,
    reads: Sequence[str] = (),
    gpu: bool = False,
    hidden: Sequence[str] = HIDDEN_PLACES,
    sockets: Sequence[str] | None = None,
    overlaid: Mapping[str, Path] | None = None,
    blanked: Sequence[str] = (),
) -> str:
    """Make every file system read-only to this process and the processes it starts (a mount namespace of their
    own), /tmp included, but for the folders `writable` (named by their keys; created first) and, given `scratch`,
    that folder as their temporary folder ($TMPDIR), mounted where it hides none of those nor of the paths the job
    `reads` (nor Python's own); give them the folders `overlaid` (named by their keys) as copies of their own,
    whose writes go with them, a /dev of their own (with the GPU's nodes, for a `gpu` job), the Unix `sockets`
    (default: those this namespace lists) and the files `blanked` covered, and the `hidden` places empty but for the
    paths they need. Returns how, or why not."""
    if not sys.platform.startswith("linux"):
        return "not read-only: no Linux mount namespaces on this system"
    overlaid = dict(overlaid or {})
    folders = [Path(p) for p in writable.values()] + ([Path(scratch)] if scratch is not None else [])
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    entered, how = _unshare(CLONE_NEWNS)
    if not entered:
        return f"not read-only: {how}"
    # private first: nothing remounted below may reach the organizer's mounts through a shared one
    if (error := _mount(None, "/", MS_REC | MS_PRIVATE)) is not None:
        return f"not read-only: its mounts could not be made private ({error})"
    needed = _needed_paths([*map(str, folders), *reads, *map(str, overlaid.values())])  # real paths, before hiding
    kept = []
    for folder in folders:
        real = os.path.realpath(folder)
        if (error := _mount(real, real, MS_BIND | MS_REC)) is not None:
            return f"not read-only: {real} could not be kept writable ({error})"
        kept.append(real)
    tmp = _temporary_place([path for pair in needed for path in pair]) if scratch is not None else None
    if tmp is not None and scratch is not None:  # its scratch folder there too: a short path, and /tmp's files work
        if _mount(os.path.realpath(scratch), tmp, MS_BIND) is None:
            kept.append(tmp)
        else:
            tmp = None
    copies: list[str] = []
    left: list[str] = []  # what stays writable
    undone: list[str] = []  # what was not done (and stays read-only or visible)
    for number, (name, folder) in enumerate(overlaid.items()):
        real = os.path.realpath(folder)
        layers = os.path.join(os.path.realpath(scratch), f".overlay-{number}") if scratch is not None else None
        if (error := _overlay(real, layers) if layers else "no temporary folder holds its copy") is None:
            copies.append(f"{name} as a copy of its own (an overlay: its writes go with it)")
            kept.append(real)
        else:
            undone.append(f"{name} not copied ({error}; read-only)")
    dev_error = _own_dev(gpu)
    if dev_error is not None:  # the machine's /dev stays, but its /dev/shm is the job's own all the same
        shm = _mount("tmpfs", SHM, MS_NOSUID | MS_NODEV | MS_NOEXEC, "tmpfs", f"size={SHM_BYTES},mode=1777")
        left.append(f"the machine's {DEV} (its own not built: {dev_error}{f'; nor its {SHM}: {shm}' if shm else ''})")
    for point, options in _mounts():  # every mount, the hidden places' own included: they are covered only below
        if _within(point, kept) or _within(point, SYSTEM_MOUNTS) or {"ro", "nodev", "nosuid"} <= options:
            continue
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NODEV | MS_NOSUID  # no device node opens outside its /dev
        flags |= sum(flag for name, flag in KEPT_MOUNT_OPTIONS.items() if name in options)
        if (error := _mount(None, point, flags)) is not None:
            left.append(f"{point} ({error})")
    listed = machine_sockets() if sockets is None else sockets
    covered, uncovered = _blank(listed, "a Unix socket", lambda path: stat.S_ISSOCK(os.lstat(path).st_mode))
    blanks, unblanked = _blank(blanked, "a secret", lambda path: stat.S_ISREG(os.stat(path).st_mode))
    undone.extend([*uncovered, *unblanked])
    concealed: list[str] = []
    shown: list[str] = []
    for place in _places(hidden):
        whole = [given for given, _ in needed if _within(place, [given])]
        error = f"the job needs {whole[0]}" if whole else _hide(place, needed)
        (shown if error else concealed).append(place if not error else f"{place} ({error})")
    _stay_here(kept)
    if scratch is not None:
        import tempfile

        os.environ["TMPDIR"] = tmp or os.path.realpath(scratch)
        tempfile.tempdir = None  # chosen again from TMPDIR at the next use
    where = f" at {tmp}" if tmp else ""
    names = [*writable, *([f"a temporary folder of its own{where} ($TMPDIR)"] if scratch is not None else []), *copies]
    if dev_error is None:
        nodes = sorted(set(os.listdir(DEV)) - set(JOB_DEV_LINKS) - {os.path.basename(SHM)})
        names.append(f"a {DEV} of its own ({', '.join(nodes)}) with a {SHM} of its own")
    spaces = "user and mount namespace" if how.startswith("own user") else "mount namespace"
    text = f"read-only but for {_listed(names) if names else 'nothing'} (own {spaces})"
    text += f"; empty but for the paths it needs: {', '.join(concealed)}" if concealed else ""
    text += f"; not emptied: {', '.join(shown)}" if shown else ""
    text += f"; the machine's Unix sockets it lists at the start covered ({covered})" if covered else ""
    text += f"; {blanks} secret file(s) read empty" if blanks else ""
    text += f"; not done: {', '.join(undone)}" if undone else ""
    return ("not read-only: " if dev_error else "") + text + (f"; left writable: {', '.join(left)}" if left else "")


def _overlay(folder: str, layers: str) -> str | None:
    """Mount an overlay on `folder` whose lower layer is the folder itself and whose upper layer is a tmpfs of
    OVERLAY_BYTES at `layers` (created): the job reads the folder and writes only its own copy. None when done,
    else why not."""
    if not os.path.isdir(folder):
        return f"{folder} is no folder"
    if any(c in path for path in (folder, layers) for c in OVERLAY_SPECIAL):
        return f"its path holds one of {' '.join(OVERLAY_SPECIAL)}, which overlay options cannot hold"
    os.makedirs(layers, exist_ok=True)
    if (error := _mount("tmpfs", layers, MS_NOSUID | MS_NODEV, "tmpfs", f"size={OVERLAY_BYTES},mode=700")) is not None:
        return f"its upper layer could not be mounted ({error})"
    upper, work = os.path.join(layers, "upper"), os.path.join(layers, "work")
    os.mkdir(upper)
    os.mkdir(work)
    options = f"lowerdir={folder},upperdir={upper},workdir={work}"
    if (error := _mount("overlay", folder, MS_NOSUID | MS_NODEV, "overlay", options)) is not None:
        return f"the overlay could not be mounted ({error})" + _unmount(layers)
    return None


def machine_sockets() -> list[str]:
    """The paths of the Unix sockets bound in this process's network namespace, as /proc/net/unix lists them (its
    last column). Not listed: an abstract one (@name, which stays in that namespace), a path given relative to its
    binder's folder, and those of other network namespaces."""
    try:
        lines = Path("/proc/self/net/unix").read_bytes().splitlines()[1:]
    except OSError:
        return []
    paths = {os.fsdecode(fields[7]) for fields in (line.split(None, 7) for line in lines) if len(fields) == 8}
    return sorted(p for p in paths if p.startswith("/"))


def _blank(paths: Sequence[str], kind: str, test: Callable[[str], bool]) -> tuple[int, list[str]]:
    """Bind /dev/null over each of `paths` whose mode passes `test` (a socket: a connection to it, or a datagram,
    is refused; a file: it reads empty). How many were covered, and those (of `kind`) that could not be."""
    covered, left = 0, []
    for path in paths:
        with contextlib.suppress(OSError):
            if not test(path):
                continue
            if (error := _mount("/dev/null", path, MS_BIND)) is None:
                covered += 1
            else:
                left.append(f"{path} ({kind}, not covered: {error})")
    return covered, left


def _stay_here(kept: list[str]) -> None:
    """Move this process into its working folder as the new mounts show it (it would otherwise stay in the folder
    as it was, under any mount that now covers it), or into the first kept folder where they show none."""
    try:
        os.chdir(os.getcwd())
    except OSError:
        os.chdir(kept[0] if kept else "/")


def _needed_paths(paths: Sequence[str]) -> list[tuple[str, str]]:
    """Each path a job needs, as (the name it is given by, absolute; its real path): `paths`, Python's own (its
    prefixes and a venv's base, its executable, sys.path but for the working folder), the folders of the packages
    this process has loaded or JOB_PACKAGES names (an editable install's are on no sys.path) and those that
    PATH_VARIABLES list. The working folder is not one: an organizer started in its home would hide nothing."""
    import importlib.util

    here = os.getcwd()
    prefixes = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, sys.executable]
    named = [*paths, *prefixes, *(p for p in sys.path if p and os.path.abspath(p) != here)]
    for variable in PATH_VARIABLES:
        named.extend(os.environ.get(variable, "").split(os.pathsep))
    modules = [m for n, m in list(sys.modules.items()) if "." not in n]
    for name in JOB_PACKAGES:
        with contextlib.suppress(ImportError, ValueError):
            if (spec := importlib.util.find_spec(name)) is not None:
                named.extend([*(spec.submodule_search_locations or []), *([spec.origin] if spec.origin else [])])
    for module in modules:
        if file := getattr(module, "__file__", None):
            named.append(os.path.dirname(file) if os.path.basename(file).startswith("__init__.") else file)
        else:
            named.extend(getattr(module, "__path__", None) or [])  # a namespace package: each of its folders
    pairs = {(os.path.abspath(p), os.path.realpath(p)) for p in named if p and os.path.isabs(p) and os.path.exists(p)}
    pairs |= {(os.path.abspath(p), os.path.realpath(p)) for p in paths if p and os.path.exists(p)}
    return sorted(pairs | {(real, real) for _, real in pairs})  # a link inside one path may lead to the other


def _places(hidden: Sequence[str]) -> list[str]:
    """The real folders `hidden` names ("~" for the home folder) that exist, none inside another."""
    real = {os.path.realpath(os.path.expanduser(p)) for p in hidden}
    folders = [p for p in real if os.path.isdir(p) and p != "/"]
    return sorted(p for p in folders if not any(q != p and _within(p, [q]) for q in folders))


def _hide(place: str, needed: list[tuple[str, str]]) -> str | None:
    """Cover `place` with an empty read-only tmpfs holding only each `needed` path under it, bound back at the name
    it is given by from its real path; None when done, else the error (and `place` is seen whole again)."""
    return _cover(place, HIDDEN_BYTES, lambda machines: _bind_back(place, needed, machines))


def _bind_back(place: str, needed: list[tuple[str, str]], machines: str) -> str | None:
    """In the tmpfs just mounted on `place`: each needed path given by a name under it (shortest first; one under a
    path already bound comes with it) bound from its real path, read from `machines` (the place as it was) when
    that lies in the place too. None when done, else the error."""
    done: list[str] = []
    for given, real in sorted((pair for pair in needed if _within(pair[0], [place])), key=lambda p: len(p[0])):
        if _within(given, done):
            continue
        source = os.path.join(machines, os.path.relpath(real, place)) if _within(real, [place]) else real
        if os.path.isdir(source):
            os.makedirs(given, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(given), exist_ok=True)
            os.close(os.open(given, os.O_CREAT | os.O_WRONLY, 0o600))
        if (error := _mount(source, given, MS_BIND | MS_REC)) is not None:
            return f"{given} could not be bound back ({error})"
        done.append(given)
    return None


def _own_dev(gpu: bool) -> str | None:
    """Cover /dev with a read-only tmpfs of this namespace's own holding JOB_DEVICES (and, for a `gpu` job, the
    nodes GPU_DEVICES match) bound from the machine's, JOB_DEV_LINKS and a /dev/shm tmpfs; None when done, else the
    error (and the machine's /dev is seen again)."""
    names = list(JOB_DEVICES)
    if gpu:
        import fnmatch

        names += sorted({name for pattern in GPU_DEVICES for name in fnmatch.filter(os.listdir(DEV), pattern)})
    return _cover(DEV, DEV_BYTES, lambda machines: _fill_dev(names, machines))


def _cover(folder: str, size: int, fill: Callable[[str], str | None]) -> str | None:
    """Mount a tmpfs of `size` bytes on `folder`, have `fill` build it from the folder as it was (the path it is
    given reads it), then make it read-only; None when done, else the error (and the tmpfs is gone again)."""
    machines = os.open(folder, os.O_PATH | os.O_DIRECTORY)  # what the folder held, once it is covered
    try:
        if error := _mount("tmpfs", folder, MS_NOSUID | MS_NODEV | MS_NOEXEC, "tmpfs", f"size={size},mode=755"):
            return error
        try:
            error = fill(f"/proc/self/fd/{machines}")
        except OSError as e:
            error = f"{e.filename}: {e.strerror}"
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        if error is None and (ro := _mount(None, folder, flags)) is not None:
            error = f"{folder} could not be made read-only ({ro})"
        return None if error is None else error + _unmount(folder)
    finally:
        os.close(machines)


def _unmount(point: str) -> str:
    """Detach the mount at `point` (and those under it), so that what it covered is seen again; "" when done,
    else what to add to the error that called for it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(os.fsencode(point), MNT_DETACH) == 0:
        return ""
    return f"; nor could it be unmounted ({os.strerror(ctypes.get_errno())})"


def make_gpu_nodes() -> None:
    """Have NVIDIA's driver make /dev/nvidia-uvm and a /dev/nvidiaN for each GPU it lists now, which CUDA's first
    start makes otherwise, through the setuid nvidia-modprobe that a job can no longer run: before the job's /dev is
    built from the machine's. Nothing where the tool is absent; a node it cannot make fails the job at CUDA's start."""
    import shutil
    import subprocess

    if (tool := shutil.which("nvidia-modprobe")) is None:
        return
    gpus = len(os.listdir(NVIDIA_GPUS)) if os.path.isdir(NVIDIA_GPUS) else 1
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        args = [tool, "-u", *(f"-c={n}" for n in range(gpus))]
        subprocess.run(args, capture_output=True, timeout=GPU_NODES_TIMEOUT_S, check=False)


def _fill_dev(names: list[str], machines: str) -> str | None:
    """In a fresh /dev: a mount point for each of `names` with the machine's node (in the folder `machines`)
    bound on it, the links and a /dev/shm tmpfs. None when done, else the error."""
    for name in names:
        source, target = os.path.join(machines, name), os.path.join(DEV, name)
        if not os.path.exists(source):
            if name in JOB_DEVICES:
                return f"the machine has no {DEV}/{name}"
            continue
        if os.path.isdir(source):
            os.mkdir(target)
        else:
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
        if (error := _mount(source, target, MS_BIND | MS_REC)) is not None:
            return f"{DEV}/{name} could not be bound ({error})"
    for name, to in JOB_DEV_LINKS.items():
        os.symlink(to, os.path.join(DEV, name))
    os.mkdir(SHM)
    error = _mount("tmpfs", SHM, MS_NOSUID | MS_NODEV | MS_NOEXEC, "tmpfs", f"size={SHM_BYTES},mode=1777")
    return None if error is None else f"{SHM} could not be mounted ({error})"


def filter_syscalls() -> str:
    """Install a seccomp filter on this process and those it starts: io_uring_setup and every call of x86_64's x32
    ABI fail with EACCES, a call of another architecture (i386's int 0x80) ends the process, all else passes.
    io_uring is the kernel's interface most often exploited (Docker's default profile refuses it too); it would also
    make sockets and open files without the calls the rest watches. Called while the process has one thread.
    Returns what applies, or why nothing does."""
    import platform

    machine = platform.machine()
    if not sys.platform.startswith("linux") or machine not in SECCOMP_ARCHES:
        return f"not filtered: no seccomp filter for {sys.platform} on {machine}"
    deny = SECCOMP_RET_ERRNO | errno.EACCES
    program = [  # (code, jump if true, jump if false, constant); a jump skips that many instructions
        (BPF_LD_W_ABS, 0, 0, SECCOMP_ARCH),
        (BPF_JEQ_K, 1, 0, SECCOMP_ARCHES[machine]),
        (BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        (BPF_LD_W_ABS, 0, 0, SECCOMP_NR),
        (BPF_JGE_K, 2, 0, X32_SYSCALL_BIT),
        (BPF_JEQ_K, 1, 0, SYS_IO_URING_SETUP),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        (BPF_RET_K, 0, 0, deny),
    ]
    filters = (_SockFilter * len(program))(*(_SockFilter(*instruction) for instruction in program))
    prog = _SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:  # the kernel takes a filter only under no_new_privs
        return f"not filtered: prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}"
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        return f"not filtered: prctl(PR_SET_SECCOMP): {os.strerror(ctypes.get_errno())}"
    return "filtered (seccomp): no io_uring and no other ABI's calls (EACCES; another architecture's: SIGSYS)"


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _temporary_place(needed: list[str]) -> str | None:
    """The first of TEMPORARY_PLACES that exists and holds none of the `needed` paths (covering it would hide
    them), where a job's scratch folder goes; None when none will do."""
    for place in TEMPORARY_PLACES:
        if os.path.isdir(place) and not os.path.islink(place) and not any(_within(k, [place]) for k in needed):
            return place
    return None


def _within(path: str, folders: Sequence[str]) -> bool:
    """Whether `path` is one of `folders` or lies under one."""
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def seal_files(own_pids: bool) -> tuple[bool, str]:
    """In the job's process, after files_read_only (and, with `own_pids`, in its PID namespace): keep the job from
    undoing its read-only mounts or going around them. A /proc of its own (another process's /proc/PID/root would
    lead back to the organizer's mounts), its kernel settings read-only, and the capabilities to mount, make device
    nodes or load kernel code dropped for good (an exec gains none of them back). Returns whether every step took,
    and what to add to the record's statement: what was done, or what could not be."""
    done, missing = [], []
    if own_pids:
        if (error := _mount("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc")) is None:
            done.append("a /proc of its own")
        else:
            missing.append(f"a /proc of its own ({error})")
    for path in KERNEL_SETTINGS:
        if not os.path.exists(path):
            continue
        error = _mount(path, path, MS_BIND) or _mount(None, path, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
        if error is not None:
            missing.append(f"{path} read-only ({error})")
    if KERNEL_SETTINGS and not any(m.startswith(KERNEL_SETTINGS) for m in missing):
        done.append("the kernel's settings read-only")
    error = drop_capabilities(set(KEPT_CAPABILITIES.values()))
    (missing if error else done).append(f"no capability to undo it{f' ({error})' if error else ''}")
    if not own_pids:
        missing.append("a PID namespace (another job's /proc/PID/root would lead to its folder)")
    if missing:  # it could be undone or gone around: no claim of read-only files is made
        return False, f"; but not sealed, so not read-only after all: {', '.join(missing)}"
    return True, f"; {_listed(done)}"


def drop_capabilities(keep: set[int]) -> str | None:
    """Drop every capability but those numbered in `keep` from this process's bounding, effective, permitted,
    inheritable and ambient sets, and set no_new_privs (a setuid program cannot give them back); None when done,
    else the error."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        last = int(LAST_CAPABILITY.read_text())
    except (OSError, ValueError):
        last = 63  # the kernel ignores numbers it has no capability for (EINVAL below)
    dropped = [n for n in range(last + 1) if n not in keep]
    for number in dropped:
        if libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            return f"prctl(PR_CAPBSET_DROP): {os.strerror(ctypes.get_errno())}"
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return f"capget: {os.strerror(ctypes.get_errno())}"
    for number in dropped:
        word, bit = divmod(number, 32)
        mask = ~(1 << bit) & 0xFFFFFFFF
        data[word].effective &= mask
        data[word].permitted &= mask
        data[word].inheritable &= mask
    if libc.capset(ctypes.byref(header), data) != 0:
        return f"capset: {os.strerror(ctypes.get_errno())}"
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on kernels before 4.3: none to clear
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}"
    return None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _listed(names: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _mount(source: str | None, target: str, flags: int, kind: str | None = None, data: str | None = None) -> str | None:
    """mount(2): a bind, a remount, a change of propagation, or a file system of `kind` (proc, tmpfs) with its
    options `data`; None when it took, else the error."""
    libc = ctypes.CDLL(None, use_errno=True)
    encoded = os.fsencode(source) if source is not None else None
    options = data.encode() if data else None
    if libc.mount(encoded, os.fsencode(target), kind.encode() if kind else None, ctypes.c_ulong(flags), options) == 0:
        return None
    return os.strerror(ctypes.get_errno())


def _mounts() -> list[tuple[str, set[str]]]:
    """This namespace's mount points, each with its own (per-mount) options, in /proc/self/mountinfo's order."""
    out = []
    for line in MOUNTINFO.read_bytes().splitlines():
        fields = line.split()
        # fields[4]: the mount point, octal-escaped (a space is \040), in the file system's bytes; fields[5]: the
        # mount's own options
        point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4])
        out.append((os.fsdecode(point), set(fields[5].decode("ascii", "replace").split(","))))
    return out


def contain_processes() -> str:
    """Run the rest of this worker as the job's process in a new PID namespace, under an init of its own that this
    process waits for; returns, in the job's process only, how its processes are contained (or why they are not)."""
    entered, how = _unshare(CLONE_NEWPID)
    if not entered:
        return f"not contained: {how}"
    from harness.records.store import WRITER_PID_ENV

    os.environ[WRITER_PID_ENV] = str(os.getpid())  # the worker lives as long as its job: the writer's id outside
    read_end, write_end = os.pipe()  # the init tells the worker the job's wait status through it
    alive_end, worker_end = os.pipe()  # only the worker holds worker_end: at its death alive_end reads end-of-file
    init = os.fork()
    if init:  # the worker: wait for the namespace's init, then end as the job ended
        os.close(write_end)
        os.close(alive_end)
        _, status = os.waitpid(init, 0)
        with os.fdopen(read_end, "rb") as fh:
            told = fh.read().strip()
        _end_as(int(told) if told.isdigit() else status)
    os.close(read_end)
    os.close(worker_end)
    # the init (process 1 of the namespace): it dies with the worker, and the kernel then ends the rest; a worker
    # killed before the request took effect is seen on the pipe (getppid() says 0 across namespaces)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if select.select([alive_end], [], [], 0)[0]:
        os._exit(1)
    job = os.fork()
    if job:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _reap_until(job, write_end)
    os.close(write_end)
    os.close(alive_end)
    return "contained: own PID namespace (every process the job starts ends with it)"


def _reap_until(job: int, tell: int) -> NoReturn:
    """As a namespace's init: reap every process left to it until the job's own ends, tell its wait status through
    `tell`, and exit (the kernel then kills the namespace's other processes)."""
    while True:
        pid, status = os.wait()
        if pid == job:
            break
    os.write(tell, str(status).encode())
    os._exit(0)


def _end_as(status: int) -> NoReturn:
    """End this process as the wait `status` says the job's ended: killed by the same signal (without a core file),
    or with the same exit code, so that the organizer reads the job's fate from this worker's."""
    import resource

    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))


def _unshare(flags: int) -> tuple[bool, str]:
    """Enter new namespaces (`flags`): directly where this process may, else inside a new user namespace that maps
    this user's own ids to themselves (so its files stay readable as before). Whether it did; how, or why not."""
    if not sys.platform.startswith("linux"):
        return False, "no Linux namespaces on this system"
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(flags) == 0:
        return True, "own"
    if libc.unshare(CLONE_NEWUSER | flags) != 0:
        return False, f"unshare failed ({os.strerror(ctypes.get_errno())})"
    try:
        for path, text in ((SETGROUPS, "deny"), (UID_MAP, f"{uid} {uid} 1"), (GID_MAP, f"{gid} {gid} 1")):
            path.write_text(text)
    except OSError as e:
        return True, f"own user; user id map not written: {e.strerror}"
    return True, "own user"


def memory_cause(error: BaseException | str) -> str | None:
    """If `error` is an allocation that failed under this process's address-space limit, the sentence that says
    so; else None (a failure with no limit set is the model's own)."""
    import resource

    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or not _ALLOCATION_FAILED.search(text):
        return None
    return f"out of memory: exceeded the {format_bytes(soft)} memory limit (--memory; address-space rlimit)"


def exit_cause(status: int, peak_rss_bytes: int | None = None) -> str:
    """Why a worker ended without a result, from its wait status: the signal that killed it or its exit code."""
    peak = f"; its peak resident memory was {format_bytes(peak_rss_bytes)}" if peak_rss_bytes else ""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGKILL:
            return f"killed by SIGKILL, not by this run (by the kernel or another process){peak}"
        if sig == signal.SIGSYS:  # filter_syscalls: SECCOMP_RET_KILL_PROCESS
            return f"crashed: killed by SIGSYS ({sig}): a call the seccomp filter ends (i386's ABI){peak}"
        return f"crashed: killed by {name} ({sig}){peak}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the worker exited with status {code} without writing a result (the model's code ended it){peak}"


def timeout_cause(limits: Limits) -> str:
    """The cause a record states for a worker killed at its wall-time limit."""
    return f"killed: ran past the time limit of {limits.timeout_s:g} s (--timeout)"
