#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# check.sh ROW [boot.sh options] [FILTER...]
#
# What `make check KERNEL=ROW` runs: prepare (cached), build (W=1, no
# warnings allowed), boot the guest and run the suite.
set -euo pipefail
HARNESS_NAME=check
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

row_arg=${1:-}
[ $# -eq 0 ] || shift
resolve_row "$row_arg"

t0=$(now_s)
"$HARNESS_DIR/prepare.sh" "$ROW"
t1=$(now_s)
log "prepare: $(elapsed "$t0") s"
"$HARNESS_DIR/build.sh" "$ROW"
t2=$(now_s)
log "build: $(elapsed "$t1") s"
rc=0
"$HARNESS_DIR/boot.sh" "$ROW" "$@" || rc=$?
log "$ROW: boot and tests: $(elapsed "$t2") s; total $(elapsed "$t0") s; exit $rc"
exit $rc
