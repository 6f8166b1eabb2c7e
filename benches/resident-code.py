#!/usr/bin/env python3
"""How much of a program's code a run keeps resident, without the noise of one run.

Runs the command once under callgrind (--dump-instr=yes) and takes the 4 KB pages of the
program's executable segment that executed at least one instruction. On Linux a fault on
a file-backed page maps the pages of the page cache around it, up to `fault_around_bytes`
(64 KB by default, aligned on the virtual address), so what ends up resident is every
64 KB window that holds an executed page. Where those windows fall depends on the load
address, which ASLR picks page by page: one run's RSS moves by a few hundred KB with it
(peak RSS of the same binary, run after run: 3,416 to 3,856 KB here). This script
averages over the 16 possible alignments instead, which makes the figure exact and the
same on every run, like callgrind's instruction counts.

Prints one JSON line: name, the segment's size, executed pages, the expected resident
code (KB) and its least and greatest over the alignments.

  resident-code.py NAME -- COMMAND...
"""
import json, os, re, subprocess, sys, tempfile

WINDOW_PAGES = 16  # 64 KB of 4 KB pages


def executed_addresses(out_file, binary):
    """Instruction addresses callgrind saw executed in `binary` (its own object only)."""
    names = {"ob": {}, "fn": {}}
    current_ob = None
    last = 0
    addresses = set()
    base = os.path.basename(binary)
    for line in open(out_file):
        # Name compression: "(id) name" defines, "(id)" refers; c* lines define too.
        m = re.match(r"c?(ob|fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            kind, ident, name = m.groups()
            if name is not None:
                names[kind][ident] = name
            if line.startswith("ob="):
                current_ob = names["ob"].get(ident)
            continue
        if not line or line[0] not in "0123456789+-*" or current_ob is None:
            continue
        token = line.split()[0]
        if token.startswith("0x"):
            address = int(token, 16)
        elif token[0] == "+":
            address = last + int(token[1:], 16 if token[1:].startswith("0x") else 10)
        elif token[0] == "-":
            address = last - int(token[1:], 16 if token[1:].startswith("0x") else 10)
        elif token == "*":
            address = last
        else:
            continue
        last = address
        if os.path.basename(current_ob) == base:
            addresses.add(address)
    return addresses


def code_segment(binary):
    """(virtual address, size) of the executable LOAD segment."""
    headers = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    for line in headers.splitlines():
        fields = line.split()
        if fields[:1] == ["LOAD"] and "E" in fields[6:-1]:
            return int(fields[2], 16), int(fields[5], 16)
    sys.exit(f"resident-code.py: no executable segment in {binary}")


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    name, cmd = argv[0], argv[sep + 1:]
    binary = os.path.realpath(cmd[0])
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", f"--callgrind-out-file={out}"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        addresses = executed_addresses(out, binary)
    start, size = code_segment(binary)
    first, last = start >> 12, (start + size - 1) >> 12
    pages = {a >> 12 for a in addresses if start <= a < start + size}
    if not pages:
        sys.exit(f"resident-code.py: callgrind saw nothing executed in {binary}")
    resident = []
    for shift in range(WINDOW_PAGES):
        windows = {(p + shift) // WINDOW_PAGES for p in pages}
        resident.append(4 * sum(1 for p in range(first, last + 1) if (p + shift) // WINDOW_PAGES in windows))
    print(json.dumps({
        "name": name, "code_kb": size // 1024, "executed_pages": len(pages),
        "expected_resident_code_kb": round(sum(resident) / len(resident)),
        "min_kb": min(resident), "max_kb": max(resident),
    }))


main()
