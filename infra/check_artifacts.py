"""Checks what `sam build` produced: every function of template.yaml has a `bootstrap` that is a
stripped 64-bit little-endian aarch64 ELF executable under the size budget.

usage: python3 infra/check_artifacts.py [--build-dir .aws-sam/build] [--max-bytes 10000000]

Exit 0 when all pass; 1 (with one line per failure) otherwise. Stdlib only: it reads the ELF
header and section headers itself, so it runs before any tool is installed.
"""

import argparse
import os
import struct
import sys

FUNCTIONS = ("ProxyFunction", "WebhookReceiverFunction", "WorkerFunction", "SweeperFunction")
EM_AARCH64 = 183
ET_EXEC, ET_DYN = 2, 3


def inspect(path):
    """(machine, type, has .symtab, has .debug_*) of a 64-bit little-endian ELF, or raises ValueError."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if ident[:4] != b"\x7fELF":
            raise ValueError("not an ELF file")
        if ident[4] != 2 or ident[5] != 1:
            raise ValueError("not a 64-bit little-endian ELF")
        hdr = f.read(48)
        e_type, e_machine = struct.unpack_from("<HH", hdr, 0)
        e_shoff = struct.unpack_from("<Q", hdr, 24)[0]
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", hdr, 42)
        names = []
        if e_shoff and e_shnum and e_shentsize >= 64:
            f.seek(e_shoff)
            sections = [struct.unpack("<IIQQQQIIQQ", f.read(64)) for _ in range(e_shnum)]
            if e_shstrndx < len(sections):
                strtab = sections[e_shstrndx]
                f.seek(strtab[4])
                table = f.read(strtab[5])
                for s in sections:
                    end = table.find(b"\0", s[0])
                    names.append(table[s[0]:end if end >= 0 else None].decode("ascii", "replace"))
        return (e_machine, e_type, ".symtab" in names, any(n.startswith(".debug_") for n in names))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=".aws-sam/build")
    ap.add_argument("--max-bytes", type=int, default=10_000_000)
    a = ap.parse_args()
    failures = []
    for fn in FUNCTIONS:
        path = os.path.join(a.build_dir, fn, "bootstrap")
        if not os.path.isfile(path):
            failures.append(f"{fn}: {path} is missing")
            continue
        size = os.path.getsize(path)
        try:
            machine, etype, symtab, debug = inspect(path)
        except (OSError, ValueError, struct.error) as e:
            failures.append(f"{fn}: {path}: {e}")
            continue
        problems = []
        if machine != EM_AARCH64:
            problems.append(f"machine {machine}, not aarch64 ({EM_AARCH64})")
        if etype not in (ET_EXEC, ET_DYN):
            problems.append(f"ELF type {etype} is not an executable")
        if symtab or debug:
            problems.append("not stripped (.symtab or .debug_* present)")
        if size > a.max_bytes:
            problems.append(f"{size} bytes is over the budget of {a.max_bytes}")
        if not os.access(path, os.X_OK):
            problems.append("not executable")
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print(f"{fn}: {size / 1e6:.2f} MB aarch64 ELF -> {status}")
        failures.extend(f"{fn}: {p}" for p in problems)
    if failures:
        for f in failures:
            print(f"check_artifacts: {f}", file=sys.stderr)
        sys.exit(1)
    print(f"check_artifacts: {len(FUNCTIONS)} stripped aarch64 binaries, each <= {a.max_bytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
