# SPDX-License-Identifier: GPL-2.0-only
# bench/report.awk: turns the guest's "BENCH ..." lines into the tables of
# bench/RESULTS.md (markdown). Plain POSIX awk (mawk is fine).
#
#   awk -f bench/report.awk raw.txt
#
# Packet rate: per variant the median of the rounds' packets/s with the
# lowest and highest, and the cost the variant adds per packet over "no
# rule": for each round 1/pps - 1/pps(no rule) of that same round (the
# rounds alternate, so each round is a pair measured close together), the
# median of those, in microseconds. Its ratio to CLEARDF's follows.

function kv(line, key,    re, m) {
	re = "(^| )" key "=[^ ]*"
	if (!match(line, re))
		return ""
	m = substr(line, RSTART, RLENGTH)
	sub(/^ /, "", m)
	sub(/^[^=]*=/, "", m)
	return m
}

# median of a[1..n] (sorted in place)
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n == 0)
		return ""
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}

# p-th quantile (0..1) of a[1..n], which median() has sorted
function quant(a, n, p,    h, lo) {
	if (n == 0)
		return ""
	h = (n - 1) * p + 1
	lo = int(h)
	if (lo >= n)
		return a[n]
	return a[lo] + (h - lo) * (a[lo + 1] - a[lo])
}

function mdname(m) {
	if (m == 64)
		return "Linux default (ipfrag_max_dist 64)"
	if (m == 0)
		return "ipfrag_max_dist 0"
	return "ipfrag_max_dist " m
}

function group(x,    s, neg, out) {
	# 1234567 -> 1,234,567; anything not a number as it is
	if (x !~ /^-?[0-9]+(\.[0-9]*)?$/)
		return x
	s = sprintf("%.0f", x)
	neg = ""
	out = ""
	if (substr(s, 1, 1) == "-") { neg = "-"; s = substr(s, 2) }
	while (length(s) > 3) {
		out = "," substr(s, length(s) - 2) out
		s = substr(s, 1, length(s) - 3)
	}
	return neg s out
}

BEGIN {
	nv = split("none dscp cleardf keepid cleardf-nft nft nfqueue tc-bpf tc-bpf-keepid pedit", order, " ")
	label["none"] = "1. no rule"
	label["dscp"] = "2. `-j DSCP --set-dscp 0`"
	label["cleardf"] = "3. `-j CLEARDF`"
	label["keepid"] = "4. `-j CLEARDF --keep-id`"
	label["cleardf-nft"] = "5. `-j CLEARDF` via iptables-nft"
	label["nft"] = "6. nftables frag-off + numgen random ID"
	label["nfqueue"] = "7. NFQUEUE + userspace program"
	label["tc-bpf"] = "8. tc eBPF: clear DF, `bpf_get_prandom_u32()` ID"
	label["tc-bpf-keepid"] = "9. tc eBPF: clear DF, keep the ID"
	label["pedit"] = "10. tc `pedit ex munge ip df set 0` + `csum ip4h`"
	label["nft-id16"] = "6b. nftables, ID spelled `numgen random mod 65536 << 16`"
	label["none-conseq"] = "no rule, sender without DF (the kernel's own IDs)"
	nseries = split("small frag", series, " ")
	stitle["small"] = "64-byte DF datagrams, MTU 1500 (rule in the sender's mangle OUTPUT)"
	stitle["frag"] = "1472-byte datagrams, MTU-1400 link after a router: every packet cleared and fragmented"
	nk = split("null|DSCP --set-dscp 0|DSCP --set-dscp 46|CLEARDF --keep-id|CLEARDF|__ip_select_ident()", kcase, "|")
}

{ sub(/^.*BENCH /, "") }

$1 == "guest" { guest = $0; sub(/^guest /, "", guest) }

$1 == "pps" {
	s = kv($0, "series"); v = kv($0, "variant"); r = kv($0, "round"); p = kv($0, "pps")
	pps[s, v, r] = p + 0
	if (r + 0 > maxround) maxround = r + 0
	cnt[s, v]++
}

$1 == "ids" {
	v = kv($0, "variant")
	idl[v] = $0
	have_ids = 1
}

$1 == "conseq" {
	v = kv($0, "variant")
	md = kv($0, "maxdist")
	cql[md, v] = $0
	if (!(md in mdseen)) { mdseen[md] = 1; mdlist[++nmd] = md }
	have_conseq = 1
}

$1 == "kmod" {
	if (match($0, /case="[^"]*"/)) {
		c = substr($0, RSTART + 6, RLENGTH - 7)
		kml[c] = $0
		have_kmod = 1
	}
}

$1 == "error" { errors = errors "\n- " $0 }

END {
	for (si = 1; si <= nseries; si++) {
		s = series[si]
		if (!cnt[s, "none"])
			continue
		printf "\n#### Packet rate: %s\n\n", stitle[s]
		printf "| variant | packets/s, median (min-max) | added per packet over no rule, median (middle half) | vs CLEARDF |\n"
		printf "| --- | --- | --- | --- |\n"
		# added cost per variant: median over rounds of paired differences
		for (vi = 1; vi <= nv; vi++) {
			v = order[vi]
			n = 0; m = 0
			delete a; delete d
			for (r = 1; r <= maxround; r++) {
				if ((s, v, r) in pps) {
					a[++n] = pps[s, v, r]
					if (((s, "none", r) in pps) && pps[s, v, r] > 0 && pps[s, "none", r] > 0)
						d[++m] = 1e6 / pps[s, v, r] - 1e6 / pps[s, "none", r]
				}
			}
			nr[v] = n
			if (n) {
				lo[v] = a[1]; hi[v] = a[1]
				for (i = 1; i <= n; i++) {
					if (a[i] < lo[v]) lo[v] = a[i]
					if (a[i] > hi[v]) hi[v] = a[i]
				}
				med[v] = median(a, n)
			}
			add[v] = m ? median(d, m) : ""
			q1[v] = quant(d, m, 0.25)
			q3[v] = quant(d, m, 0.75)
		}
		for (vi = 1; vi <= nv; vi++) {
			v = order[vi]
			if (!nr[v]) {
				printf "| %s | did not run | | |\n", label[v]
				continue
			}
			if (v == "none")
				ad = "(reference)"
			else
				ad = sprintf("%.2f µs (%.2f to %.2f)", add[v], q1[v], q3[v])
			if (v == "none" || add["cleardf"] == "" || add["cleardf"] + 0 <= 0)
				rt = (v == "cleardf") ? "1" : ""
			else
				rt = sprintf("%.2f", add[v] / add["cleardf"])
			if (v == "cleardf")
				rt = "1"
			printf "| %s | %s (%s-%s) | %s | %s |\n", label[v], group(med[v]), group(lo[v]), group(hi[v]), ad, rt
		}
		printf "\n%d rounds; " , maxround
		if (s == "frag")
			printf "\"no rule\" and the DSCP rule send without DF (with DF the router would drop every packet); the others send with DF and their rule clears it; the tc variants sit on the router's ingress from the sender (clsact), the others in the sender's mangle OUTPUT. "
		else
			printf "The tc variants sit on the sender's egress (clsact) of the same veth. "
		printf "Packets/s: per round, the median rate of the measurement's 100 ms pieces; then the median over the rounds. Added cost: per round 1/rate - 1/rate(no rule) of that round, median over the rounds and, in parentheses, the middle half of the rounds (25th to 75th percentile).\n"
		# goals on this series, with how many rounds agree
		ac = add["cleardf"]; an = add["nft"]; aq = add["nfqueue"]
		if (ac != "" && an != "" && aq != "") {
			wn = 0; wq = 0; nn = 0
			for (r = 1; r <= maxround; r++) {
				if (!((s, "cleardf", r) in pps) || !((s, "nft", r) in pps) || !((s, "nfqueue", r) in pps) || !((s, "none", r) in pps))
					continue
				if (pps[s, "cleardf", r] <= 0 || pps[s, "none", r] <= 0)
					continue
				nn++
				if (pps[s, "cleardf", r] >= pps[s, "nft", r])
					wn++
				xc = 1e6 / pps[s, "cleardf", r] - 1e6 / pps[s, "none", r]
				xq = (pps[s, "nfqueue", r] > 0) ? 1e6 / pps[s, "nfqueue", r] - 1e6 / pps[s, "none", r] : 1e9
				if (xc < xq / 10)
					wq++
			}
			gs[s] = sprintf("CLEARDF adds %.2f µs, the nftables rule %.2f µs: %s (CLEARDF at least as fast in %d of %d rounds); the NFQUEUE program adds %.2f µs, %s x CLEARDF: %s (in %d of %d rounds)",
				ac, an, (ac <= an ? "no more than nftables, holds" : "more than nftables, does not hold"), wn, nn,
				aq, (ac > 0 ? sprintf("%.1f", aq / ac) : "n/a"), (ac < aq / 10 ? "CLEARDF < 1/10 of it, holds" : "CLEARDF not < 1/10 of it, does not hold"), wq, nn)
		}
	}

	if (have_kmod) {
		printf "\n#### Per call: the target functions timed by a test module (bench/kmod)\n\n"
		printf "| target | ns per call, median (min-max) | vs DSCP --set-dscp 0 | vs DSCP --set-dscp 46 |\n"
		printf "| --- | --- | --- | --- |\n"
		d0 = kv(kml["DSCP --set-dscp 0"], "ns_per_call") + 0
		d46 = kv(kml["DSCP --set-dscp 46"], "ns_per_call") + 0
		for (k = 1; k <= nk; k++) {
			c = kcase[k]
			if (!(c in kml)) {
				printf "| %s | did not run | | |\n", c
				continue
			}
			x = kv(kml[c], "ns_per_call")
			r0 = (d0 + 0 > 0) ? sprintf("%.2f", x / d0) : ""
			r46 = (d46 + 0 > 0) ? sprintf("%.2f", x / d46) : ""
			printf "| %s | %s (%s-%s) | %s | %s |\n", (c == "null" ? "empty target (the indirect call)" : (c == "__ip_select_ident()" ? "empty target calling `__ip_select_ident()` only" : c)), x, kv(kml[c], "min"), kv(kml[c], "max"), r0, r46
			kns[c] = x + 0
		}
		printf "\nEach case: %s rounds of %s calls on one prepared 92-byte UDP packet with DF, in rotating order, timed in batches of %s calls. Per call: the median batch's time per call minus that of the same loop without the call, so the indirect call is included; median over the rounds (lowest-highest). The loop puts back TOS, DF, ID and checksum before every call (%s ns per iteration on its own). These are nanoseconds of the emulated CPU.\n", kv(kml["CLEARDF"], "rounds"), group(kv(kml["CLEARDF"], "iters")), group(kv(kml["CLEARDF"], "batch")), kv(kml["reset"], "loop_ns")
		if (d0 + 0 > 0 && d46 + 0 > 0 && ("CLEARDF" in kns) && ("CLEARDF --keep-id" in kns)) {
			c1 = kns["CLEARDF"]; c2 = kns["CLEARDF --keep-id"]
			if ("__ip_select_ident()" in kns && "null" in kns)
				gi = sprintf("the generator alone (`__ip_select_ident()` minus the empty target) %.2f ns, %.0f%% of CLEARDF's %.2f ns; CLEARDF minus --keep-id %.2f ns",
					kns["__ip_select_ident()"] - kns["null"], 100 * (kns["__ip_select_ident()"] - kns["null"]) / c1, c1, c1 - c2)
			gk = sprintf("CLEARDF %.2f x DSCP (no-op) / %.2f x DSCP (rewrite), goal <= 3: %s / %s; --keep-id %.2f x / %.2f x, goal <= 1.5: %s / %s",
				c1 / d0, c1 / d46, (c1 <= 3 * d0 ? "holds" : "does not hold"), (c1 <= 3 * d46 ? "holds" : "does not hold"),
				c2 / d0, c2 / d46, (c2 <= 1.5 * d0 ? "holds" : "does not hold"), (c2 <= 1.5 * d46 ? "holds" : "does not hold"))
		}
	}

	if (have_ids) {
		printf "\n#### ID quality: DF datagrams to one destination, IDs as received\n\nThe sender is unconnected, so the kernel gives its DF packets ID 0 (as to a tunnel's outer header): the IDs that arrive are the rule's.\n\n"
		printf "| variant | datagrams | distinct IDs | repeated within 65,536 | worst window of 65,536 | shortest distance between equal IDs | DF left |\n"
		printf "| --- | --- | --- | --- | --- | --- | --- |\n"
		nid = split("cleardf cleardf-nft keepid nft nft-id16 nfqueue tc-bpf tc-bpf-keepid pedit", idv, " ")
		for (k = 1; k <= nid; k++) {
			v = idv[k]
			if (!(v in idl)) {
				printf "| %s | did not run | | | | | |\n", label[v]
				continue
			}
			l = idl[v]
			dis = group(kv(l, "distinct"))
			if (kv(l, "distinct") == 1)
				dis = "1 (all " kv(l, "top_id") ")"
			printf "| %s | %s | %s | %s | %s | %s | %s |\n", label[v], group(kv(l, "got")), dis, group(kv(l, "repeats")), group(kv(l, "worst_window")), group(kv(l, "min_dist")), kv(l, "df")
		}
		printf "\n\"Repeated within 65,536\": datagrams whose ID one of the 65,535 datagrams before them already had. \"Worst window\": the most such repeats inside one window of 65,536 consecutive datagrams (its size minus its distinct IDs). A counter-based ID repeats after 65,536 datagrams; uniformly random IDs repeat within a window for about 37%% of its datagrams.\n"
	}

	if (have_conseq) {
		printf "\n#### Consequence: fragmented UDP across netem loss and reordering\n\n"
		printf "| variant | sent"
		for (j = 1; j <= nmd; j++)
			printf " | corrupted, %s | lost, %s", mdname(mdlist[j]), mdname(mdlist[j])
		printf " |\n| --- | ---"
		for (j = 1; j <= nmd; j++)
			printf " | --- | ---"
		printf " |\n"
		ncq = split("none cleardf keepid nft nft-id16 nfqueue tc-bpf tc-bpf-keepid pedit", cqv, " ")
		for (k = 1; k <= ncq; k++) {
			v = cqv[k]
			lb = (v == "none") ? label["none-conseq"] : label[v]
			sent = ""
			row = ""
			for (j = 1; j <= nmd; j++) {
				if ((mdlist[j], v) in cql) {
					l = cql[mdlist[j], v]
					sent = kv(l, "sent")
					row = row sprintf(" | %s | %s", group(kv(l, "corrupted")), group(kv(l, "lost")))
				} else {
					row = row " | did not run | "
				}
			}
			printf "| %s | %s%s |\n", lb, group(sent), row
		}
		printf "\nCorrupted: delivered, but its payload hash does not match: the fragments of two datagrams were reassembled into one (the UDP checksum is off, as in GRE or VXLAN outer headers, so nothing else catches it). Lost: never delivered intact. The sender is unconnected, so the kernel gives its DF packets ID 0, as for a tunnel's outer header.\n"
	}

	printf "\n#### Goals\n\n"
	if (gs["small"] != "") printf "- packet rate, 64-byte: %s.\n", gs["small"]
	if (gs["frag"] != "") printf "- packet rate, fragmented: %s.\n", gs["frag"]
	if (gk != "") printf "- per call: %s.\n", gk
	if (gi != "") printf "- per call: %s.\n", gi
	if (errors != "")
		printf "\n#### Variants that could not run\n%s\n", errors
}
