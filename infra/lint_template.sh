#!/usr/bin/env bash
# Lints template.yaml offline: cfn-lint, then `sam validate --lint` (SAM's translator plus
# cfn-lint on the transformed template). Neither contacts AWS: the region and credentials below
# are placeholders that only keep boto3 from looking for real ones, and SAM telemetry is off.
#
#   infra/lint_template.sh                     # tools from .venv/bin
#   VENV_BIN=/path/to/venv/bin infra/lint_template.sh
#
# Warnings fail the run as well as errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV_BIN="${VENV_BIN:-.venv/bin}"
TEMPLATE="${TEMPLATE:-template.yaml}"

for tool in cfn-lint sam; do
  if [ ! -x "$VENV_BIN/$tool" ]; then
    echo "lint_template: $VENV_BIN/$tool not found (install infra/requirements-test.txt into the venv, or set VENV_BIN)" >&2
    exit 2
  fi
done

export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE
export SAM_CLI_TELEMETRY=0

echo "==> cfn-lint $TEMPLATE"
"$VENV_BIN/cfn-lint" "$TEMPLATE"

echo "==> sam validate --lint --template $TEMPLATE"
"$VENV_BIN/sam" validate --lint --template "$TEMPLATE" --region us-east-1

echo "lint_template: clean"
