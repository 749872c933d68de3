"""Runs the README's quick start as written, in a fresh project (called by ci.sh).

Usage: python run_readme.py README.md SCRATCH_DIR API_URL

1. Reads the ``<!-- quickstart:install -->``, ``<!-- quickstart:client -->`` and
   ``<!-- quickstart:receiver -->`` code blocks from the README (never a copy of them).
2. Makes a venv in SCRATCH_DIR and runs the install line in it, from the repository root (the
   README's ``pip install ./sdks/python``).
3. Runs the client block with ``ORCHESTRATOR_BASE_URL=API_URL``: it must exit 0 and print a
   payment id and ``canceled``.
4. Starts the receiver block on a free port, posts one event signed with the README's secret
   (it must answer 2xx and print ``verified``) and the same event with its body altered (it
   must answer 400), then stops it. Everything is bounded by timeouts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT = 60


def block(readme: str, marker: str) -> str:
    m = re.search(r"<!-- quickstart:" + marker + r" -->\s*```[a-z]*\n(.*?)```", readme, re.S)
    if not m:
        raise SystemExit(f"README has no <!-- quickstart:{marker} --> code block")
    return m.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers={**headers, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def main(readme_path: str, scratch: str, api_url: str) -> None:
    readme = Path(readme_path).read_text(encoding="utf-8")
    repo_root = Path(readme_path).resolve().parent.parent.parent
    work = Path(scratch)
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(work / ".venv")], check=True, timeout=TIMEOUT)
    py = str(work / ".venv/bin/python")

    installs = [ln for ln in block(readme, "install").splitlines() if ln.strip() and not ln.startswith("#")]
    for line in installs:
        args = shlex.split(line.split("#", 1)[0])
        assert args[:2] == ["pip", "install"], f"unexpected install line: {line}"
        subprocess.run([py, "-m", "pip", "--disable-pip-version-check", "-q", *args[1:]],
                       cwd=repo_root, check=True, timeout=300)
        print(f"quick start: ran `{line.strip()}` from {repo_root}")

    (work / "client.py").write_text(block(readme, "client"), encoding="utf-8")
    (work / "receiver.py").write_text(block(readme, "receiver"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    env["ORCHESTRATOR_BASE_URL"] = api_url
    env.pop("PYTHONPATH", None)

    run = subprocess.run([py, "client.py"], cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    print(run.stdout, end="")
    if run.returncode != 0:
        raise SystemExit(f"the client quick start failed:\n{run.stderr}")
    assert re.search(r"^pay_\w+ pending ", run.stdout, re.M), run.stdout
    assert run.stdout.rstrip().endswith("canceled"), run.stdout

    port = free_port()
    proc = subprocess.Popen([py, "receiver.py"], cwd=work, env={**env, "PORT": str(port)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the receiver did not start: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.1)
        secret = re.search(r'"(whsec_[^"]+)"', block(readme, "receiver"))
        assert secret, "the receiver block names no whsec_ secret"
        signer = subprocess.run(
            [py, "-c", "import json,sys; from payment_orchestrator import Webhook; "
             "b=sys.stdin.buffer.read(); print(json.dumps(Webhook(sys.argv[1]).generate_headers(b)))",
             secret.group(1)],
            input=_event(), capture_output=True, timeout=TIMEOUT, check=True,
        )
        headers = json.loads(signer.stdout)
        url = f"http://127.0.0.1:{port}/hooks"
        ok = post(url, _event(), headers)
        bad = post(url, _event().replace(b"succeeded", b"failed"), headers)
        assert 200 <= ok < 300, f"the receiver refused a correctly signed event: {ok}"
        assert bad == 400, f"the receiver accepted an altered body: {bad}"
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    print(out, end="")
    assert f"verified payment.succeeded {headers['webhook-id']}" in out, (out, err)
    assert "pay_quickstart succeeded 2" in out, out
    print("quick start: client ran against", api_url, "and the receiver verified one event and refused a tampered one")


def _event() -> bytes:
    return json.dumps({
        "id": "evt_quickstart", "type": "payment.succeeded", "livemode": False,
        "created_at": "2026-01-01T00:00:00Z",
        "data": {"id": "pay_quickstart", "status": "succeeded", "amount": 1990, "version": 2},
    }).encode()


if __name__ == "__main__":
    main(*sys.argv[1:4])
