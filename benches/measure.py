#!/usr/bin/env python3
"""Runs a command several times and prints one JSON line: median wall time (ms) and
median peak resident set (kB, the kernel's ru_maxrss of the child, as GNU time's %M),
plus the size of what it printed. Timing is around fork+exec+wait only: this script's
own start is not in it.

  measure.py NAME RUNS [--cwd DIR] [--save FILE] [--any-exit] -- COMMAND...
"""
import json, os, statistics, subprocess, sys, time

def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    name, runs = opts[0], int(opts[1])
    cwd = opts[opts.index("--cwd") + 1] if "--cwd" in opts else None
    save = opts[opts.index("--save") + 1] if "--save" in opts else None
    any_exit = "--any-exit" in opts  # `tidings diff` exits 1 when it finds breaking changes
    walls, rss, out = [], [], b""
    for _ in range(runs):
        r, w = os.pipe()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=w, stderr=subprocess.DEVNULL, cwd=cwd)
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
        rss.append(ru.ru_maxrss)
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
