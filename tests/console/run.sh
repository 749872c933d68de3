#!/usr/bin/env bash
# Browser tests of the console (/dashboard) in a real headless Chromium driven by Selenium.
# usage: tests/console/run.sh <dev server URL> <python with selenium installed>
# Starts its own merchant callback receiver on 127.0.0.1 (in the test process) and writes
# screenshots of every view at 1280x800 and 375x812 into target/console-screenshots/.
set -euo pipefail
URL=${1:?dev server URL, e.g. http://127.0.0.1:8080}
PY=${2:?python interpreter with selenium (pinned in infra/requirements-test.txt)}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install -y chromium chromium-driver)"; exit 1; }
command -v chromedriver >/dev/null || { echo "chromedriver is not installed (apt-get install -y chromium-driver)"; exit 1; }
mkdir -p "$ROOT/target/console-screenshots"
rm -f "$ROOT"/target/console-screenshots/*.png
exec "$PY" "$ROOT/tests/console/test_console.py" --url "$URL" --shots "$ROOT/target/console-screenshots"
