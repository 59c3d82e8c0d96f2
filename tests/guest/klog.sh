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
# the debug row's tools (most of their reports also start with BUG: or
# WARNING:, named here so that a changed prefix still counts)
KLOG_BAD_RE+='|KFENCE:|sleeping function called from invalid context|Invalid wait context'
KLOG_BAD_RE+='|possible irq lock inversion|suspicious RCU usage|lock held when returning'
KLOG_BAD_RE+='|DEBUG_LOCKS_WARN_ON|bad unlock balance|held lock freed|kmemleak: .*(error|disabled)|Memory pool empty'

# kmemleak (the debug row): a leak with a frame of the module or of a
# path it touches (x_tables, nf_tables and nft_compat, the netfilter
# hooks, skb allocation and copies, GRO, the IPv4 and device paths the
# packets take) fails the run; other leaks are listed but do not
# (tests/guest/run-suite). Matched against " name+0x../0x.." per frame.
KMEMLEAK_OURS_RE=' (cleardf_|xt_|ipt_|ip6t_|iptable_|nft_|nf_|__nf_|nfnetlink|nfulnl_'
KMEMLEAK_OURS_RE+='|skb_|__skb_|pskb_|__pskb_|alloc_skb|__alloc_skb|kfree_skb|napi_|__napi_|gro_|dev_gro_|inet_gro_'
KMEMLEAK_OURS_RE+='|__ip_select_ident|ip_|__ip_|raw_sendmsg|udp_sendmsg|packet_|tpacket_|veth_'
KMEMLEAK_OURS_RE+='|__dev_queue_xmit|dev_hard_start_xmit|netif_|__netif_)'

# The subset after which the guest is wedged or dead: boot.sh ends the
# guest as soon as one of these reaches the console (soft/hard lockup, RCU
# stall, hung task, panic, oops) instead of waiting for its timeout.
KLOG_FATAL_RE='watchdog: BUG: soft lockup|detected hard LOCKUP'
KLOG_FATAL_RE+='|rcu: INFO: rcu_(sched|preempt|bh) detected stalls|self-detected stall'
KLOG_FATAL_RE+='|blocked for more than [0-9]+ seconds|hung_task: blocked tasks'
KLOG_FATAL_RE+='|Kernel panic|Oops:|BUG: unable to handle|general protection fault|kernel BUG at'

# A kernel message on the console or in dmesg: "[   12.345678] text".
KLOG_STAMP_RE='\[ *[0-9]+\.[0-9]+\] '
