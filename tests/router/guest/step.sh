#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# step.sh STEP: run by the router image's cleardf-router-test.service at the
# end of the boot (tests/router/image.sh), its output on the second serial
# port. Runs steps.sh STEP, says how it ended in one line that
# tests/router/run.sh reads, then reboots the router as an admin would
# (QEMU runs with -no-reboot: the host then boots the next step).
step=${1:-}
up() { cut -d' ' -f1 /proc/uptime; }
echo "cleardf-router: step $step: start at uptime $(up) s, kernel $(uname -r), $(systemctl is-system-running 2>/dev/null)"
rc=0
bash "$(dirname "$0")/steps.sh" "$step" || rc=$?
if [ $rc = 0 ]; then res=pass; else res=fail; fi
echo "cleardf-router: step $step: $res (exit $rc) at uptime $(up) s"
sync
systemctl --no-block reboot
