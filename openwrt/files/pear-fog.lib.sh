# shellcheck shell=sh
# /usr/share/pear-fog/lib.sh: shell helpers shared by the pear-fog init script, rpcd plugin,
# CLI and Wi-Fi watcher.  POSIX sh / busybox ash; only busybox tools and pear-fogd itself.
#
# pear-fogd's control socket is reached with `pear-fogd ctl OP [JSON]` (a one-shot client in
# the daemon binary): busybox nc has no unix sockets and uclient/ubus do not speak them, so
# the daemon's own client is the one tool every router with pear-fog has.

PF_CONFIG=/etc/config/pear-fog
PF_DAEMON=/usr/sbin/pear-fogd
PF_WIFI_STATE=/var/run/pear-fog/wifi.json
PF_DEFAULT_CTL=/var/run/pear-fog/ctl.sock

# pf_log LEVEL MESSAGE: one line to syslog (tag pear-fog) and stderr.
pf_log() {
	logger -t pear-fog -p "daemon.$1" -- "$2" 2>/dev/null
	echo "pear-fog: $2" >&2
}

# pf_uci_get OPTION [DEFAULT]: option of the main section (or the first pear-fog section);
# a list prints its values space-separated.  The section is read with one `uci show` per
# process and kept in PF_OPT_<option> variables; pf_uci_reload re-reads it after a change.
pf_uci_get() {
	[ -n "$PF_UCI_LOADED" ] || pf_uci_reload
	eval "set -- \"\${PF_OPT_$1-\$2}\""
	[ -n "$1" ] && echo "$1"
}

pf_uci_reload() {
	# uci show quotes every value for the shell: pear-fog.main.hours='00:00-07:00' '22:00-24:00'
	# becomes `set -- '00:00-07:00' '22:00-24:00'; PF_OPT_hours="$*"`.  Section: 'main',
	# else the first of type pear-fog (as pear-fogd and the agent choose).
	eval "$(uci -q show pear-fog 2>/dev/null | awk '
		{
			line = substr($0, 10); dot = index(line, "."); eq = index(line, "=")
			if (index($0, "pear-fog.") != 1 || eq == 0) next
			if (dot == 0 || dot > eq) {
				sec = substr(line, 1, eq - 1)
				if (substr(line, eq + 1) == "pear-fog" && !(sec in seen)) { seen[sec] = 1; if (first == "") first = sec }
				next
			}
			sec = substr(line, 1, dot - 1); name = substr(line, dot + 1, eq - dot - 1)
			if (name ~ /^[a-z_][a-z0-9_]*$/)
				opts[sec] = opts[sec] "set -- " substr(line, eq + 1) "; PF_OPT_" name "=\"$*\"\n"
		}
		END { s = ("main" in seen) ? "main" : first; if (s != "") printf "%s", opts[s] }')"
	PF_UCI_LOADED=1
}

# pf_ctl OP [JSON]: one control request; prints the reply line.  Exit 0 ok, 1 error reply,
# 2 daemon not running (pear-fogd ctl's codes).
pf_ctl() {
	"$PF_DAEMON" --ctl-socket "$(pf_uci_get ctl_socket "$PF_DEFAULT_CTL")" ctl "$@"
}

# The JSON member splitter, an awk function: members(s) fills M[key] = raw value text and
# K[1..n] = keys in order for the top-level members of the one-line JSON object s.  Strings
# may hold escapes, values may nest.  One awk process per use keeps the scripts cheap on a
# router CPU (every fork counts when LuCI polls).
PF_AWK_MEMBERS='
function emit(m,   key) {
	sub(/^[ \t]+/, "", m)
	if (!match(m, /^"[^"]*"[ \t]*:[ \t]*/)) return
	key = substr(m, 2, index(substr(m, 2), "\"") - 1)
	m = substr(m, RLENGTH + 1)
	sub(/[ \t]+$/, "", m)
	M[key] = m
	K[++NK] = key
}
function members(s,   n, i, c, depth, instr, esc, start, run) {
	n = length(s); depth = 0; instr = 0; esc = 0; start = 0; NK = 0
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (instr) {
			if (!esc && match(substr(s, i), /^[^"\\]+/)) { i += RLENGTH - 1; continue }
			if (esc) esc = 0
			else if (c == "\\") esc = 1
			else if (c == "\"") instr = 0
			continue
		}
		# skip runs of plain characters in one step
		if (match(substr(s, i), /^[^"{}\[\],]+/)) { i += RLENGTH - 1; continue }
		if (c == "\"") { instr = 1; continue }
		if (c == "{" || c == "[") { if (++depth == 1) start = i + 1; continue }
		if (c == "}" || c == "]") { if (depth-- == 1) emit(substr(s, start, i - start)); continue }
		if (c == "," && depth == 1) { emit(substr(s, start, i - start)); start = i + 1 }
	}
}'

# pf_json_members: stdin one JSON object (one line) -> "key<TAB>value" per top-level member,
# value as raw JSON text.
pf_json_members() {
	awk "$PF_AWK_MEMBERS"'
	{ members($0); for (i = 1; i <= NK; i++) print K[i] "\t" M[K[i]] }'
}

# pf_json_get JSON KEY: the raw value of a top-level member (nothing if absent).
pf_json_get() {
	printf '%s\n' "$1" | awk -v k="$2" "$PF_AWK_MEMBERS"'
	{ members($0); if (k in M) print M[k] }'
}

# pf_json_pick JSON KEY...: members "k":v of those keys (absent ones left out), in the order
# asked, comma-separated, without braces, so callers can add their own.
pf_json_pick() {
	local json="$1"
	shift
	printf '%s\n' "$json" | awk -v keys="$*" "$PF_AWK_MEMBERS"'
	{
		members($0); n = split(keys, k, " "); sep = ""
		for (i = 1; i <= n; i++) if (k[i] in M) { printf "%s\"%s\":%s", sep, k[i], M[k[i]]; sep = "," }
	}'
}

# pf_json_str TEXT: TEXT as a JSON string literal (plain text without forking).
pf_json_str() {
	case "$1" in
	*[\"\\]* | *[![:print:]]*) ;;
	*)
		printf '"%s"' "$1"
		return
		;;
	esac
	printf '%s' "$1" | awk 'BEGIN { ORS = "" } {
		gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r")
		if (NR > 1) printf "\\n"
		printf "%s", $0
	}' | {
		printf '"'
		cat
		printf '"'
	}
}

# Sizes and rates in /etc/config/pear-fog: one grammar for pear-fogd, the agent, these scripts
# and LuCI (docs/openwrt.md; test/openwrt/caps.test.ts checks they agree):
#   size  DIGITS[UNIT]             UNIT (any case, 1024-based): b k kb kib m mb mib g gb gib t tb tib
#   rate  DIGITS[UNIT|BITS][/s]    bytes/s; BITS (any case, 1000-based): bit kbit mbit gbit
# No sign, fraction or space; floored to whole bytes; at most 2^53-1; a rate that is not 0 but
# under 1 B/s is refused.

# pf_amount KIND VALUE: KIND size or rate; prints bytes (per second), fails outside the grammar.
pf_amount() {
	local v="$2" n u mul=1 div=1
	[ "$1" = rate ] && v="${v%/s}"
	n="${v%%[!0-9]*}"
	u="${v#"$n"}"
	case "$n" in '') return 1 ;; esac
	case "$u" in
	'' | [Bb]) ;;
	[Kk] | [Kk][Bb] | [Kk][Ii][Bb]) mul=1024 ;;
	[Mm] | [Mm][Bb] | [Mm][Ii][Bb]) mul=1048576 ;;
	[Gg] | [Gg][Bb] | [Gg][Ii][Bb]) mul=1073741824 ;;
	[Tt] | [Tt][Bb] | [Tt][Ii][Bb]) mul=1099511627776 ;;
	*)
		[ "$1" = rate ] || return 1
		div=8
		case "$u" in
		[Bb][Ii][Tt]) ;;
		[Kk][Bb][Ii][Tt]) mul=1000 ;;
		[Mm][Bb][Ii][Tt]) mul=1000000 ;;
		[Gg][Bb][Ii][Tt]) mul=1000000000 ;;
		*) return 1 ;;
		esac
		;;
	esac
	# leading zeros off (ash reads 010 as octal), then at most 17 digits: no overflow below
	while :; do case "$n" in 0?*) n="${n#0}" ;; *) break ;; esac; done
	[ ${#n} -le 17 ] || return 1
	[ "$n" -le $((72057594037927936 / mul)) ] || return 1
	v=$((n * mul / div))
	[ "$v" -le 9007199254740991 ] || return 1
	[ "$v" -gt 0 ] || [ "$n" -eq 0 ] || return 1
	echo "$v"
}

# pf_size_bytes VALUE: "32M" -> 33554432; fails outside the grammar above.
pf_size_bytes() {
	pf_amount size "$1"
}

# pf_rate_bytes VALUE: "5mbit" -> 625000 (bytes/s); fails outside the grammar above.
pf_rate_bytes() {
	pf_amount rate "$1"
}

# pf_bool VALUE: prints 1 or 0 for UCI booleans; fails on anything else.
pf_bool() {
	case "$1" in
	1 | yes | on | true | enabled) echo 1 ;;
	0 | no | off | false | disabled) echo 0 ;;
	*) return 1 ;;
	esac
}

# pf_rtc_addresses: the addresses pear-fogd must advertise when the config names none: with
# rtc_address unset and a wildcard bind, the IPv4 and IPv6 address of `interface` (netifd).
# Prints nothing when rtc_address is set or bind is a specific address.
pf_rtc_addresses() {
	local iface addr
	[ -z "$(pf_uci_get rtc_address)" ] || return 0
	case "$(pf_uci_get bind 0.0.0.0)" in 0.0.0.0 | ::) ;; *) return 0 ;; esac
	iface="$(pf_uci_get interface lan)"
	[ -f /lib/functions/network.sh ] || return 0
	. /lib/functions/network.sh
	network_get_ipaddr addr "$iface" && echo "$addr"
	network_get_ipaddr6 addr "$iface" && echo "$addr"
	return 0
}

# pf_check [CONFIG]: pear-fogd's validation of the file with the derived addresses; prints
# its message and fails when it refuses.
pf_check() {
	local a args=""
	for a in $(pf_rtc_addresses); do args="$args --rtc-address $a"; done
	# shellcheck disable=SC2086 # one word per flag and address
	"$PF_DAEMON" --config "${1:-$PF_CONFIG}" $args --check 2>&1
}
