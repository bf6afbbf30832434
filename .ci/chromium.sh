#!/usr/bin/env bash
# The headless browser the report tests open pages in: Debian's chromium, installed when
# missing (playwright drives it; its own browser downloads are never used).
#   source .ci/chromium.sh    -> exports LABELMEND_TEST_CHROMIUM
set -euo pipefail
if ! command -v chromium >/dev/null; then
    echo "Installing Chromium (Debian package)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
LABELMEND_TEST_CHROMIUM="$(command -v chromium)"
export LABELMEND_TEST_CHROMIUM
