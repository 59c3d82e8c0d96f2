#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# demo.sh [ROW]
#
# What `make demo` runs: prepare (cached) and build like check.sh, then boot
# the row's kernel with tests/guest/demo as the guest's entry instead of the
# suite: the article's story, told on the screen. Exit status: the demo's
# (0 when the story happened as told).
set -euo pipefail
HARNESS_NAME=demo
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

[ $# -le 1 ] || { echo "usage: $0 [ROW]" >&2; exit 2; }
resolve_row "${1:-}"

t0=$(now_s)
"$HARNESS_DIR/prepare.sh" "$ROW"
"$HARNESS_DIR/build.sh" "$ROW"
log "$ROW: booting the guest for the demo (QEMU TCG: a minute or two)"
rc=0
"$HARNESS_DIR/boot.sh" "$ROW" --timeout "${CLEARDF_TIMEOUT:-900}" --entry /cleardf/tests/guest/demo || rc=$?
log "$ROW: demo $([ $rc = 0 ] && echo 'told as written' || echo "FAILED (exit $rc)") in $(elapsed "$t0") s"
exit $rc
