# Test stand-in for OpenWrt's /lib/functions/procd.sh: every procd_* call is recorded in
# $PF_TEST_LOG as one line "procd_<name> ARGS"; uci_load_validate checks the types the
# pear-fog init script uses the way procd's validate_data does and calls the callback with
# the error count.
for _f in procd_open_service procd_close_service procd_open_instance procd_close_instance \
	procd_set_param procd_append_param procd_add_jail procd_add_jail_mount \
	procd_add_jail_mount_rw procd_add_reload_trigger procd_add_interface_trigger \
	procd_add_validation; do
	eval "$_f() { echo \"$_f \$*\" >>\"\$PF_TEST_LOG\"; }"
done

_validate_one() { # TYPE VALUE
	case "$1" in
	bool) case "$2" in 0 | 1 | yes | no | on | off | true | false | enabled | disabled) return 0 ;; esac; return 1 ;;
	uinteger) case "$2" in '' | *[!0-9]*) return 1 ;; esac; return 0 ;;
	port) case "$2" in '' | *[!0-9]*) return 1 ;; esac; [ "$2" -le 65535 ] ;;
	ipaddr) echo "$2" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$|^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$' ;;
	string) return 0 ;;
	list\(*\)) _t="${1#list(}"; _t="${_t%)}"; for _v in $2; do _validate_one "$_t" "$_v" || return 1; done ;;
	or\(*\)) _alts="${1#or(}"; _alts="${_alts%)}"; echo ",$_alts," | grep -q ",\"$2\"," ;;
	*) return 1 ;;
	esac
}

uci_load_validate() {
	local _package="$1" _type="$2" _name="$3" _function="$4" _spec _opt _t _def _v _errors=0 _show
	shift 4
	# one read of the package (validate_data reads it once through libuci)
	_show="$(uci -q show "$_package")"
	for _spec in "$@"; do
		_opt="${_spec%%:*}"
		_t="${_spec#*:}"
		case "$_t" in
		*:*) _def="${_t##*:}"; _t="${_t%:*}" ;;
		*) _def="" ;;
		esac
		# or("a","b"):default has colons only at the end
		_v="$(printf '%s\n' "$_show" | sed -n "s/^$_package\.$_name\.$_opt=//p")"
		[ -n "$_v" ] && eval "set -- $_v" && _v="$*"
		if [ -n "$_v" ] && ! _validate_one "$_t" "$_v"; then
			echo "validation failed: $_package.$_name.$_opt='$_v' is not $_t" >>"$PF_TEST_LOG"
			_errors=$((_errors + 1))
			_v="$_def"
		fi
		eval "$_opt=\"\${_v:-\$_def}\""
	done
	"$_function" "$_name" "$_errors"
}
