# /lib/functions/network.sh of the QEMU test image (no netifd here): the logical interfaces
# "lan" and "wan" are both eth0 (QEMU user networking, 10.0.2.15/24).
network_get_ipaddr() { # VAR IFACE
	local a
	case "$2" in lan | wan) ;; *) return 1 ;; esac
	a="$(ip -4 -o addr show eth0 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')"
	[ -n "$a" ] || return 1
	eval "$1=\"\$a\""
}
network_get_ipaddr6() { # VAR IFACE: no global IPv6 address under QEMU user networking
	return 1
}
