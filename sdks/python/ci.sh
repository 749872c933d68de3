#!/usr/bin/env bash
# CI for the Python SDK, run from the repo root as `bash sdks/python/ci.sh`.
# Env: PYTHON (a venv's python; default python3), ORCH_API_URL (a running dev server; without
# it the dev-server and fault suites are skipped).
# Steps: install pinned dev deps from PyPI -> mypy --strict (package, type tests, a typo file
# that must be rejected) -> one license text -> pytest (unit + parity with docs/openapi.yaml +
# dev server + faults) -> python -m build (wheel + sdist) -> install the wheel into a scratch
# venv, use it and type-check against it -> the README quick start in a fresh project.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
PY="${PYTHON:-python3}"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/payorch-python-sdk.XXXXXX")"
STEP="start"
trap 'rm -rf "$SCRATCH"' EXIT
trap 'echo "python-sdk: FAILED at step: $STEP"' ERR

step() { STEP="$*"; printf '\n== %s\n' "$STEP"; }
PIP=("$PY" -m pip --disable-pip-version-check -q)

step "install dev dependencies (PyPI)"
"${PIP[@]}" install -r requirements-dev.txt

step "type check (mypy --strict)"
"$PY" -m mypy --strict --cache-dir "$HERE/.mypy_cache" src/payment_orchestrator

step "type tests: precise types pinned with assert_type; typos that mypy must reject"
MYPYPATH="$HERE/src" "$PY" -m mypy --strict --cache-dir "$HERE/.mypy_cache" \
  tests/typecheck/precise_types.py tests/typecheck/usage.py
MYPYPATH="$HERE/src" "$PY" tests/typecheck/expect_errors.py tests/typecheck/typos.py

step "one license text (sdks/python/LICENSE is the repository's LICENSE)"
if [ -f ../../LICENSE ]; then
  cmp -s LICENSE ../../LICENSE || { echo "sdks/python/LICENSE differs from ../../LICENSE: copy it again"; false; }
fi
grep -q '^license = "MIT"$' pyproject.toml

step "tests (unit$( [ -n "${ORCH_API_URL:-}" ] && echo " + dev server at $ORCH_API_URL + faults" ))"
if [ -z "${ORCH_API_URL:-}" ]; then
  echo "ORCH_API_URL is not set: the dev-server and fault suites will be skipped"
fi
PYTHONPATH="$HERE/src" "$PY" -m pytest -q -p no:cacheprovider --junitxml "$SCRATCH/junit.xml" tests
COUNTS="$("$PY" - "$SCRATCH/junit.xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(f"{t - f - sk} passed, {f} failed, {sk} skipped")
PYEOF
)"

step "build wheel and sdist (python -m build)"
"$PY" -m build --outdir "$SCRATCH/dist" . >"$SCRATCH/build.log" 2>&1 || { cat "$SCRATCH/build.log"; false; }
WHEEL="$(ls "$SCRATCH"/dist/*.whl)"
SDIST="$(ls "$SCRATCH"/dist/*.tar.gz)"
"$PY" - "$WHEEL" "$SDIST" <<'PYEOF'
import sys, tarfile, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for need in ("payment_orchestrator/__init__.py", "payment_orchestrator/py.typed", "payment_orchestrator/webhooks.py"):
    assert need in names, f"wheel lacks {need}: {names}"
assert not any(n.startswith("tests/") for n in names), "tests leaked into the wheel"
meta = [n for n in names if n.endswith("METADATA")][0]
text = zipfile.ZipFile(sys.argv[1]).read(meta).decode()
reqs = [l for l in text.splitlines() if l.startswith("Requires-Dist:")]
assert reqs == ["Requires-Dist: httpx<1,>=0.27"], reqs
assert "Requires-Python: >=3.10" in text
assert "License-Expression: MIT" in text, "the wheel's metadata does not say MIT"
lic = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
assert lic, f"the wheel ships no LICENSE: {names}"
assert zipfile.ZipFile(sys.argv[1]).read(lic[0]).startswith(b"MIT License"), "not the MIT text"
snames = tarfile.open(sys.argv[2]).getnames()
assert any(n.endswith("src/payment_orchestrator/py.typed") for n in snames), snames
assert any(n.endswith("/LICENSE") for n in snames), "the sdist ships no LICENSE"
print("wheel and sdist contents ok:", sys.argv[1].rsplit("/", 1)[-1])
PYEOF

step "install the wheel into a scratch venv, import it, type-check a user module against it"
"$PY" -m venv "$SCRATCH/venv"
"$SCRATCH/venv/bin/python" -m pip --disable-pip-version-check -q install "$WHEEL"
mkdir -p "$SCRATCH/app"
cat > "$SCRATCH/app/smoke.py" <<'PYEOF'
import os, pathlib
import payment_orchestrator
from payment_orchestrator import AsyncClient, Client, Webhook, errors

pkg = pathlib.Path(payment_orchestrator.__file__).parent
assert "site-packages" in str(pkg), pkg  # the installed wheel, not the source tree
assert (pkg / "py.typed").exists()
c = Client(api_key="sk_secret_for_smoke", base_url=os.environ.get("ORCH_API_URL") or "http://127.0.0.1:9")
assert "sk_secret_for_smoke" not in repr(c)
assert Webhook("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").sign(
    "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553,
    b'{"email":"test@example.com","username":"test_user"}',
) == "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
assert issubclass(errors.GatewayError, errors.PaymentOrchestratorError)
if os.environ.get("ORCH_API_URL"):
    live = Client(api_key="sk_demo_tenant_a_4f9c2b7e1d8a6350", base_url=os.environ["ORCH_API_URL"])
    assert len(live.gateways.list()) >= 1
    live.close()
c.close()
AsyncClient(api_key="k")
print("installed", payment_orchestrator.__version__, "from", pkg)
PYEOF
(cd "$SCRATCH/app" && "$SCRATCH/venv/bin/python" smoke.py)
cp tests/typecheck/usage.py tests/typecheck/precise_types.py tests/typecheck/typos.py tests/typecheck/expect_errors.py "$SCRATCH/app/"
(cd "$SCRATCH/app" && "$PY" -m mypy --strict --no-incremental --python-executable "$SCRATCH/venv/bin/python" usage.py precise_types.py)
(cd "$SCRATCH/app" && "$PY" expect_errors.py typos.py --python-executable "$SCRATCH/venv/bin/python")

step "README quick start in a fresh project (install line, client block, receiver block)"
if [ -n "${ORCH_API_URL:-}" ]; then
  "$PY" tests/quickstart/run_readme.py README.md "$SCRATCH/quickstart" "$ORCH_API_URL"
  QUICKSTART="README quick start ran against $ORCH_API_URL"
else
  echo "NOT RUN: ORCH_API_URL is not set, so the README quick start cannot reach a dev server"
  QUICKSTART="README quick start NOT RUN (no ORCH_API_URL)"
fi

trap - ERR
echo
echo "python-sdk: OK - mypy --strict clean, type tests and typo file as expected; tests: $COUNTS; built $(basename "$WHEEL") + sdist, installed in a scratch venv and imported; $QUICKSTART"
