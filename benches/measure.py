#!/usr/bin/env python3
"""Runs a command several times and prints one JSON line: median wall time (ms) and
median peak resident set (kB, GNU time's %M), plus the size of what it printed. Timing
is around fork+exec+wait only: this script's own start is not in it.

The peak RSS comes from /usr/bin/time wrapped around the command, not from this
script's wait4: a child forked from Python counts Python's pages (about 14 MB) in its
ru_maxrss until it execs. /usr/bin/time is a small C program, so its child's peak is
the command's own; its exec adds well under a millisecond to the wall time.

  measure.py NAME RUNS [--cwd DIR] [--save FILE] [--any-exit] -- COMMAND...
"""
import json, os, shutil, statistics, subprocess, sys, time

def evict(program):
    """Drops the program's file from the page cache, so that its first run reads it in by
    readahead, as every other program measured. How the file entered the cache decides
    how its pages are grouped there, and so how many a fault maps: the same binary
    measured 3,556 KB as the linker wrote it and 3,872 KB copied with `cp`."""
    path = program if os.sep in program else shutil.which(program)
    try:
        fd = os.open(path, os.O_RDONLY)
    except (OSError, TypeError):
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)

def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    name, runs = opts[0], int(opts[1])
    cwd = opts[opts.index("--cwd") + 1] if "--cwd" in opts else None
    save = opts[opts.index("--save") + 1] if "--save" in opts else None
    any_exit = "--any-exit" in opts  # `tidings diff` exits 1 when it finds breaking changes
    walls, rss, out = [], [], b""
    evict(cmd[0])
    for _ in range(runs):
        r, w = os.pipe()
        rss_file = f"/tmp/measure-{os.getpid()}.rss"
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd, stdout=w,
                             stderr=subprocess.DEVNULL, cwd=cwd)
        os.close(w)
        chunks = []
        while True:
            c = os.read(r, 1 << 16)
            if not c:
                break
            chunks.append(c)
        os.close(r)
        _, status, ru = os.wait4(p.pid, 0)
        walls.append((time.perf_counter() - t0) * 1000)
        with open(rss_file) as f:
            # time writes "Command exited with non-zero status N" first when it did.
            rss.append(int(f.read().split()[-1]))
        os.remove(rss_file)
        if os.waitstatus_to_exitcode(status) != 0 and not any_exit:
            print(json.dumps({"name": name, "error": f"exit {os.waitstatus_to_exitcode(status)}"}))
            sys.exit(1)
        out = b"".join(chunks)
    if save:
        with open(save, "wb") as f:
            f.write(out)
    print(json.dumps({
        "name": name, "runs": runs,
        "median_ms": round(statistics.median(walls), 2), "min_ms": round(min(walls), 2),
        "median_rss_kb": int(statistics.median(rss)), "output_bytes": len(out),
    }))

main()
