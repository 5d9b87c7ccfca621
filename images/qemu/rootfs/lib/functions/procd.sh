# /lib/functions/procd.sh of the QEMU test image: there is no procd here. The procd_* calls
# of an init script's start_service describe instances as procd would receive them; this file
# writes each as a spec file under /var/run/procd-lite/<service>/, and procd_close_service
# hands them to /sbin/procd-lite (one respawning supervisor per instance, in sh).
#
# Kept from procd: command, respawn (threshold, timeout, retry), user/group, no_new_privs,
# instances not declared again are stopped, an unchanged instance is left running.
# Not emulated (recorded in <instance>.jail only): ujail (procd_add_jail*), triggers, and the
# stdout/stderr → syslog path (output goes to /var/log/<service>.<instance>.log instead).

PL_ROOT=/var/run/procd-lite

_pl_quote() { # ARGS... -> one line of single-quoted words
	local a out=""
	for a in "$@"; do
		out="$out '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
	done
	printf '%s' "${out# }"
}

procd_open_service() {
	_PL_SVC="$1"
	_PL_DIR="$PL_ROOT/$1"
	_PL_N=0
	mkdir -p "$_PL_DIR"
	rm -f "$_PL_DIR"/*.new
}

procd_open_instance() {
	_PL_N=$((_PL_N + 1))
	_PL_INST="${1:-instance$_PL_N}"
	_PL_CMD=""
	_PL_RESPAWN=""
	_PL_USER=""
	_PL_GROUP=""
	_PL_NNP=0
	_PL_JAIL=""
}

procd_set_param() {
	local k="$1"
	shift
	case "$k" in
	command) _PL_CMD="$(_pl_quote "$@")" ;;
	respawn) _PL_RESPAWN="${*:-3600 5 5}" ;;
	user) _PL_USER="$1" ;;
	group) _PL_GROUP="$1" ;;
	no_new_privs) _PL_NNP="$1" ;;
	*) ;;
	esac
}

procd_append_param() {
	local k="$1"
	shift
	case "$k" in
	command) _PL_CMD="$_PL_CMD $(_pl_quote "$@")" ;;
	*) ;;
	esac
}

procd_add_jail() { _PL_JAIL="$_PL_JAIL
jail $*"; }
procd_add_jail_mount() { _PL_JAIL="$_PL_JAIL
ro $*"; }
procd_add_jail_mount_rw() { _PL_JAIL="$_PL_JAIL
rw $*"; }

procd_close_instance() {
	{
		echo "PL_COMMAND=\"\$(cat <<'PL_EOF'"
		echo "$_PL_CMD"
		echo "PL_EOF"
		echo ")\""
		echo "PL_RESPAWN='$_PL_RESPAWN'"
		echo "PL_USER='$_PL_USER'"
		echo "PL_GROUP='$_PL_GROUP'"
		echo "PL_NNP='$_PL_NNP'"
	} >"$_PL_DIR/$_PL_INST.new"
	printf '%s\n' "$_PL_JAIL" >"$_PL_DIR/$_PL_INST.jail"
}

procd_add_reload_trigger() { :; }
procd_add_interface_trigger() { :; }
procd_add_validation() { :; }

# procd_kill_instance SERVICE INSTANCE: stops the supervisor (it stops the daemon: SIGTERM, then
# SIGKILL after 5 s as procd's term_timeout) and waits for both.
procd_kill_instance() {
	local dir="$PL_ROOT/$1" sup pid i=0
	sup="$(cat "$dir/$2.supervisor" 2>/dev/null)"
	pid="$(cat "$dir/$2.pid" 2>/dev/null)"
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null
	while [ $i -lt 60 ]; do
		{ [ -z "$sup" ] || ! kill -0 "$sup" 2>/dev/null; } &&
			{ [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; } && break
		[ $i = 50 ] && [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		usleep 100000
		i=$((i + 1))
	done
	rm -f "$dir/$2.spec" "$dir/$2.supervisor" "$dir/$2.pid"
}

procd_close_service() {
	local f inst
	# Instances not declared this time are stopped (procd replaces the instance set).
	for f in "$_PL_DIR"/*.spec; do
		[ -e "$f" ] || continue
		inst="${f##*/}"
		inst="${inst%.spec}"
		[ -e "$_PL_DIR/$inst.new" ] || procd_kill_instance "$_PL_SVC" "$inst"
	done
	for f in "$_PL_DIR"/*.new; do
		[ -e "$f" ] || continue
		inst="${f##*/}"
		inst="${inst%.new}"
		if [ -e "$_PL_DIR/$inst.spec" ] && cmp -s "$f" "$_PL_DIR/$inst.spec" &&
			kill -0 "$(cat "$_PL_DIR/$inst.supervisor" 2>/dev/null)" 2>/dev/null; then
			rm -f "$f" # unchanged and running: left alone, as procd does
			continue
		fi
		[ -e "$_PL_DIR/$inst.spec" ] && procd_kill_instance "$_PL_SVC" "$inst"
		mv "$f" "$_PL_DIR/$inst.spec"
		setsid /sbin/procd-lite "$_PL_SVC" "$inst" </dev/null >/dev/null 2>&1 &
		i=0
		while [ ! -s "$_PL_DIR/$inst.pid" ] && [ $i -lt 50 ]; do
			usleep 20000
			i=$((i + 1))
		done
	done
}

# uci_load_validate PACKAGE TYPE SECTION CALLBACK SPEC...: every option of the section,
# checked against its type (procd's validate_data types, those the pear-fog init script
# uses), is set as a shell variable (the default when unset or invalid); the callback gets
# the section and the number of invalid values. Invalid ones are logged as validate_data does.
_pl_valid() { # TYPE VALUE (no forks: a fork costs ~80 ms on an emulated 24Kc)
	case "$1" in
	bool) case "$2" in 0 | 1 | yes | no | on | off | true | false | enabled | disabled) return 0 ;; esac; return 1 ;;
	uinteger) case "$2" in '' | *[!0-9]*) return 1 ;; esac; return 0 ;;
	port) case "$2" in '' | *[!0-9]*) return 1 ;; esac; [ "${#2}" -le 5 ] && [ "$2" -le 65535 ] ;;
	ipaddr)
		case "$2" in
		*:*) case "$2" in *[!0-9a-fA-F:.]*) return 1 ;; esac; return 0 ;;
		*[!0-9.]* | *..* | .* | *.) return 1 ;;
		*.*.*.*.*) return 1 ;;
		*.*.*.*)
			local IFS=. o
			for o in $2; do [ "${#o}" -le 3 ] && [ "$o" -le 255 ] || return 1; done
			return 0
			;;
		*) return 1 ;;
		esac
		;;
	string) return 0 ;;
	list\(*\))
		local t="${1#list(}" v
		t="${t%)}"
		for v in $2; do _pl_valid "$t" "$v" || return 1; done
		return 0
		;;
	or\(*\))
		local alts="${1#or(}"
		alts="${alts%)}"
		case ",$alts," in *",\"$2\","*) return 0 ;; esac
		return 1
		;;
	*) return 1 ;;
	esac
}

# _pl_load PACKAGE SECTION: _plv_<option> for every option of the section, with one uci and
# one awk (`uci show` quotes values for the shell: 'a' 'b' for lists). A function of its own:
# the `set --` lines must not replace the caller's arguments.
_pl_load() {
	eval "$(uci -q show "$1" | awk -v pre="$1.$2." '
		index($0, pre) == 1 {
			line = substr($0, length(pre) + 1); eq = index(line, "=")
			name = substr(line, 1, eq - 1)
			if (name ~ /^[a-z_][a-z0-9_]*$/) print "set -- " substr(line, eq + 1) "; _plv_" name "=\"$*\""
		}')"
}

uci_load_validate() {
	local pkg="$1" _type="$2" sec="$3" cb="$4" spec opt t def v errors=0
	shift 4
	_pl_load "$pkg" "$sec"
	for spec in "$@"; do
		opt="${spec%%:*}"
		t="${spec#*:}"
		def=""
		case "$t" in
		*\):* | [a-z]*:*) def="${t##*:}"; t="${t%:*}" ;;
		esac
		eval "v=\"\${_plv_$opt-}\"; unset _plv_$opt"
		if [ -n "$v" ] && ! _pl_valid "$t" "$v"; then
			logger -t validate_data "$pkg.$sec.$opt='$v' is not $t"
			echo "validate_data: $pkg.$sec.$opt='$v' is not $t" >&2
			errors=$((errors + 1))
			v=""
		fi
		eval "$opt=\"\${v:-\$def}\""
	done
	"$cb" "$sec" "$errors"
}
