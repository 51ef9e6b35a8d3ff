set -eu
umask 077
# Take the site's lock for this run, or say who holds it (see components/unifi/shared_file.py).
# Prints "locked", "taken-over HOLDER" (the holder's time ran out), "held SECONDS HOLDER" (the
# client waits and tries again), or "retry" (given back while this run looked: try again at once). The lock is a symlink: ln -s creates it or fails, at once.
# Parameters: site_dir owner upload_user token hold_s holder
# @PARAMETERS@
# @COMMON@

test -d "$site_dir" || fail 5 "site directory $site_dir does not exist; nothing changed"
now=$(date +%s)
expires=$((now + hold_s))
outcome=locked
if ! ln -s -- "$token $expires $holder" "$lock" 2>/dev/null; then
	if ! target=$(readlink -- "$lock" 2>/dev/null); then
		if test -e "$lock" || test -L "$lock"; then
			fail 4 "$lock exists and is not a symlink; remove it by hand"
		fi
		printf 'retry\n' # its holder gave it back just now
		exit 0
	fi
	held_until=${target#* }
	held_until=${held_until%% *}
	case $held_until in
	'' | *[!0-9]*) fail 4 "$lock is damaged ($target); remove it by hand if no pulumi up is running" ;;
	esac
	if test "$now" -le "$held_until"; then
		printf 'held %s %s\n' "$((held_until - now))" "${target#* * }"
		exit 0
	fi
	# Its holder's time ran out (the run was killed): take it over.
	rm -f -- "$lock"
	if ! ln -s -- "$token $expires $holder" "$lock" 2>/dev/null; then
		printf 'held 0 another run that took over first\n'
		exit 0
	fi
	outcome="taken-over ${target#* * }"
fi
test -n "$owner" || owner=$(stat -c '%u:%g' -- "$site_dir")
if ! test -d "$parts_dir"; then
	mkdir -- "$parts_dir"
	chmod 0700 -- "$parts_dir"
	chown -- "$owner" "$parts_dir"
fi
# The upload area: the SSH user's own (SFTP without sudo cannot write the controller's files).
rm -rf -- "$incoming"
mkdir -- "$incoming"
chmod 0700 -- "$incoming"
test -z "$upload_user" || chown -- "$upload_user" "$incoming"
printf '%s\n' "$outcome"
