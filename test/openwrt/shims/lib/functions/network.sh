# Test stand-in for /lib/functions/network.sh: addresses from PF_TEST_IPADDR_<iface> and
# PF_TEST_IPADDR6_<iface>.
network_get_ipaddr() {
	eval "_a=\"\$PF_TEST_IPADDR_$2\""
	[ -n "$_a" ] && eval "$1=\"\$_a\""
}
network_get_ipaddr6() {
	eval "_a=\"\$PF_TEST_IPADDR6_$2\""
	[ -n "$_a" ] && eval "$1=\"\$_a\""
}
