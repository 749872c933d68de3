#!/usr/bin/env python3
"""Runs the README's simulator recipes exactly as written against a fresh dev server.

The dev server is started with the README's quick-start command itself (the first line of the
first `sh` block under "## Quick start", comment dropped), in the repository root; the only
change is the port: the command is run with `ORCH_ADDR=127.0.0.1:<free port>` (the dev server
reads it; the README's 8080 may be taken), and the recipes' setup block gets the same port in
its `API=` URL, nothing else. Then every ```` ```sh recipe ```` block runs in order, each in
its own `bash` after the setup block, and what it prints must be exactly its `# expect:` lines.

Usage: python3 infra/readme_recipes.py [--readme README.md] [--min-recipes 8]
Standard library only. Exit 0 when every recipe printed what it says.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECT = "# expect: "
README_API = "http://127.0.0.1:8080"


def blocks(text: str, info: str) -> list[str]:
    """The bodies of the fenced blocks whose info string is exactly `info`."""
    out: list[str] = []
    pattern = re.compile(r"^```" + re.escape(info) + r"[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
    for m in pattern.finditer(text):
        out.append(m.group(1))
    return out


def quick_start_command(text: str) -> str:
    """The first command of the quick start, without its comment."""
    section = text.split("\n## Quick start", 1)
    if len(section) != 2:
        raise SystemExit("README has no '## Quick start' section")
    body = section[1].split("\n## ", 1)[0]
    first = blocks(body, "sh")
    if not first:
        raise SystemExit("the quick start has no sh block")
    for line in first[0].splitlines():
        cmd = line.split("#", 1)[0].strip()
        if cmd:
            return cmd
    raise SystemExit("the quick start's sh block has no command")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the quick-start command exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the dev server did not answer {url}/health within {seconds:.0f} s")


def run_recipe(setup: str, recipe: str, timeout: float) -> tuple[bool, str]:
    want = [l[len(EXPECT):] for l in recipe.splitlines() if l.startswith(EXPECT)]
    if not want:
        return False, "the recipe states no '# expect:' line"
    script = "set -e\n" + setup + "\n" + recipe
    try:
        done = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s"
    got = done.stdout.splitlines()
    if done.returncode != 0 or got != want:
        return False, (
            f"exit {done.returncode}\n  expected: {want}\n  printed:  {got}\n"
            f"  stderr: {done.stderr.strip()[-800:]}"
        )
    return True, ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    ap.add_argument("--min-recipes", type=int, default=8)
    ap.add_argument("--startup-seconds", type=float, default=900)
    args = ap.parse_args()
    text = Path(args.readme).read_text(encoding="utf-8")
    command = quick_start_command(text)
    recipes = blocks(text, "sh recipe")
    if len(recipes) < args.min_recipes + 1:
        print(f"FAIL: {len(recipes) - 1} recipes marked ```sh recipe, expected at least {args.min_recipes}")
        return 1
    setup, recipes = recipes[0], recipes[1:]
    if README_API not in setup:
        print(f"FAIL: the recipes' setup block does not set API={README_API}")
        return 1
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    setup = setup.replace(README_API, api)
    env = dict(os.environ, ORCH_ADDR=f"127.0.0.1:{port}")
    print(f"quick start: `{command}` with ORCH_ADDR=127.0.0.1:{port}", flush=True)
    log = open(os.environ.get("RECIPES_SERVER_LOG", os.devnull), "wb")
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    failed = 0
    try:
        wait_healthy(api, proc, args.startup_seconds)
        for i, recipe in enumerate(recipes, 1):
            title = next((l for l in recipe.splitlines() if l.strip()), "")[:70]
            ok, why = run_recipe(setup, recipe, 120)
            print(f"{'ok  ' if ok else 'FAIL'} recipe {i}: {title}", flush=True)
            if not ok:
                failed += 1
                print("  " + why, flush=True)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    print(f"readme recipes: {len(recipes) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
