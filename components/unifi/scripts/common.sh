# --- common: shared helpers (POSIX sh, coreutils/busybox tools only) ---
live_name=config.gateway.json
backup_name=config.gateway.json.metallb-unifi-original
state_name=.metallb-unifi.state
live=$site_dir/$live_name
backup=$site_dir/$backup_name
state=$site_dir/$state_name
state_tmp=$state.tmp

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

# read_state: sets state_stack, state_installed, state_previous, state_original,
# state_original_sha256 from the state file (key=value lines; unknown keys ignored).
read_state() {
	state_stack=
	state_installed=
	state_previous=
	state_original=
	state_original_sha256=
	while IFS= read -r _line || test -n "$_line"; do
		case $_line in
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
# --- end common ---
