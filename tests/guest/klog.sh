# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: GPL-2.0-only
# (SC2034: the variables are read by the scripts that source this file)
#
# tests/guest/klog.sh: what must never appear in the kernel log, in one
# place for the guest's run-suite (dmesg after each test and at the end)
# and the host's boot.sh (the console, live and after the run). Sourced;
# POSIX extended regular expressions (grep -E).

# Any of these in the kernel log fails the run. Our own markers
# ("cleardf-suite: start N NAME") are filtered out by the callers before
# matching, so a test name cannot trip it.
KLOG_BAD_RE='BUG|WARNING|Oops|refcount|general protection|Kernel panic'
KLOG_BAD_RE+='|UBSAN:|KASAN:|possible circular locking|inconsistent lock state|possible recursive locking'
KLOG_BAD_RE+='|rcu: INFO|hung_task|blocked for more than|hw csum failure'
KLOG_BAD_RE+='|page allocation failure|unregister_netdevice: waiting'

# The subset after which the guest is wedged or dead: boot.sh ends the
# guest as soon as one of these reaches the console (soft/hard lockup, RCU
# stall, hung task, panic, oops) instead of waiting for its timeout.
KLOG_FATAL_RE='watchdog: BUG: soft lockup|detected hard LOCKUP'
KLOG_FATAL_RE+='|rcu: INFO: rcu_(sched|preempt|bh) detected stalls|self-detected stall'
KLOG_FATAL_RE+='|blocked for more than [0-9]+ seconds|hung_task: blocked tasks'
KLOG_FATAL_RE+='|Kernel panic|Oops:|BUG: unable to handle|general protection fault|kernel BUG at'

# A kernel message on the console or in dmesg: "[   12.345678] text".
KLOG_STAMP_RE='\[ *[0-9]+\.[0-9]+\] '
