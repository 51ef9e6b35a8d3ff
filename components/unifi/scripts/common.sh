# --- common: shared helpers (POSIX sh, coreutils/busybox tools only) ---
live_name=config.gateway.json
backup_name=config.gateway.json.metallb-unifi-original
state_name=.metallb-unifi.state
live=$site_dir/$live_name
backup=$site_dir/$backup_name
state=$site_dir/$state_name
state_tmp=$state.tmp
# Several stacks (issue 17): each stack's part and claims, the lock (a symlink: created atomically,
# and its target carries the holder), and the SSH user's upload area while the lock is held.
parts_dir=$site_dir/.metallb-unifi-parts
lock=$site_dir/.metallb-unifi.lock
incoming=$site_dir/.metallb-unifi-incoming

# fail CODE MESSAGE...: the message goes to stderr, never any file content.
fail() {
	_code=$1
	shift
	printf 'metallb-unifi: %s\n' "$*" >&2
	exit "$_code"
}

# sha_of FILE: the file's sha256 in lowercase hex.
# Returns non-zero (so set -e stops the script) if the file cannot be read.
sha_of() {
	_sum=$(sha256sum <"$1") || return 1
	_sum=${_sum%% *}
	case $_sum in
	*[!0-9a-f]*) return 1 ;;
	esac
	test ${#_sum} -eq 64 || return 1
	printf '%s\n' "$_sum"
}

# read_state: sets state_format, state_stack, state_installed, state_previous, state_original,
# state_original_sha256 from the state file (key=value lines; unknown keys ignored). Format 2
# (several stacks, their parts in $parts_dir) is written by the client in Python.
read_state() {
	state_format=1
	state_stack=
	state_installed=
	state_previous=
	state_original=
	state_original_sha256=
	while IFS= read -r _line || test -n "$_line"; do
		case $_line in
		format=*) state_format=${_line#format=} ;;
		stack=*) state_stack=${_line#stack=} ;;
		installed_sha256=*) state_installed=${_line#installed_sha256=} ;;
		previous_sha256=*) state_previous=${_line#previous_sha256=} ;;
		original=*) state_original=${_line#original=} ;;
		original_sha256=*) state_original_sha256=${_line#original_sha256=} ;;
		esac
	done <"$state"
	case $state_original in
	present | absent) ;;
	*) fail 4 "$state is damaged (original='$state_original'); fix or remove it by hand" ;;
	esac
}

# write_state INSTALLED PREVIOUS ORIGINAL ORIGINAL_SHA256: temp file + mv, so the
# state file is always complete.
write_state() {
	rm -f -- "$state_tmp"
	printf 'stack=%s\ninstalled_sha256=%s\nprevious_sha256=%s\noriginal=%s\noriginal_sha256=%s\n' \
		"$stack" "$1" "$2" "$3" "$4" >"$state_tmp"
	chmod 0600 -- "$state_tmp"
	chown -- "$owner" "$state_tmp"
	mv -f -- "$state_tmp" "$state"
}
# holds_lock TOKEN: true if the lock is there and carries TOKEN.
holds_lock() {
	test -L "$lock" || return 1
	_target=$(readlink -- "$lock") || return 1
	case $_target in
	"$1 "*) return 0 ;;
	esac
	return 1
}
# show LABEL FILE: "LABEL SIZE", then the file's bytes and a newline (a reader takes SIZE bytes,
# so any bytes may follow). Only read.sh, look.sh and original.sh print files, for the client alone.
show() {
	test -f "$2" && ! test -L "$2" || fail 4 "$2 is not a regular file; nothing changed"
	_size=$(wc -c <"$2")
	printf '%s %s\n' "$1" "$((_size + 0))"
	cat -- "$2"
	printf '\n'
}

# sha_or_absent FILE: the file's sha256, or "absent"; refuses anything but a regular file.
sha_or_absent() {
	if test -e "$1" || test -L "$1"; then
		test -f "$1" && ! test -L "$1" || fail 4 "$1 exists but is not a regular file; nothing changed"
		sha_of "$1"
	else
		printf 'absent\n'
	fi
}

# show_site: what read.sh and look.sh print: "state SIZE" and the state file (or "state
# absent"), "live SIZE" and the live file (or "live absent"), "backup SHA|absent", then the parts.
show_site() {
	if test -e "$state"; then
		show state "$state"
	else
		printf 'state absent\n'
	fi
	if test -e "$live" || test -L "$live"; then
		show live "$live"
	else
		printf 'live absent\n'
	fi
	printf 'backup %s\n' "$(sha_or_absent "$backup")"
	show_parts
}

# show_parts: every file of the parts directory as "part NAME SIZE" (see show), then "end".
show_parts() {
	if test -d "$parts_dir"; then
		for _file in "$parts_dir"/*; do
			test -e "$_file" || continue
			show "part ${_file##*/}" "$_file"
		done
	fi
	printf 'end\n'
}
# --- end common ---
