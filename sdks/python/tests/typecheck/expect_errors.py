"""Runs ``mypy --strict`` on a file of deliberate typos and checks that mypy rejects it with
exactly the expected errors: every ``# expect: <code> [<code>...]`` comment must be reported on
its line with those codes, and no other line may be reported (an unexpected error means the
file tests something else than it says). Exit status 0 when all hold.

Usage: python expect_errors.py FILE [mypy args...]
"""

from __future__ import annotations

import re
import subprocess
import sys


def main(argv: list[str]) -> int:
    path, extra = argv[0], argv[1:]
    expected: dict[int, set[str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"#\s*expect:\s*([a-z\- ]+)$", line.rstrip())
            if m:
                expected[n] = set(m.group(1).split())
    if not expected:
        print(f"{path}: no `# expect:` comments")
        return 1
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes", *extra, path],
        capture_output=True,
        text=True,
    )
    if run.returncode == 0:
        print(f"mypy accepted {path}: the typos it holds are no longer type errors")
        return 1
    reported: dict[int, set[str]] = {}
    for line in run.stdout.splitlines():
        m = re.match(r"^(.+?):(\d+): error: .*\[([a-z\-]+)\]$", line)
        if m and m.group(1).endswith(path.rsplit("/", 1)[-1]):
            reported.setdefault(int(m.group(2)), set()).add(m.group(3))
        elif ": error:" in line:
            print(f"unexpected mypy error elsewhere: {line}")
            return 1
    problems = []
    for n, codes in sorted(expected.items()):
        if not codes <= reported.get(n, set()):
            problems.append(f"line {n}: expected {sorted(codes)}, mypy reported {sorted(reported.get(n, set()))}")
    for n in sorted(set(reported) - set(expected)):
        problems.append(f"line {n}: unexpected {sorted(reported[n])}")
    if problems:
        print(run.stdout)
        print("\n".join(problems))
        return 1
    print(f"mypy rejected {path} with the {sum(len(c) for c in expected.values())} expected errors on {len(expected)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
