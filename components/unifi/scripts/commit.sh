set -eu
umask 077
# Carry out the client's plan, one step per line of $plan, in order (see
# components/unifi/shared_file.py), after checking that this run still holds the lock and the
# live file is still the one it read. Prints "changed" if the live file changed, else "unchanged".
# Steps:  put NAME DEST SHA   move $incoming/NAME (checked against SHA) to DEST, 0600, owner
#         remove DEST         remove DEST (a part, its claims or the state)
#         keep-original       copy the live file to the backup once (the user's original)
#         restore-original    move the backup back over the live file
#         remove-live         remove the live file (there was no original)
#         remove-parts-dir    remove the (empty) parts directory
# Parameters: site_dir owner token expect_live plan
# @PARAMETERS@
# @COMMON@

trap 'rm -f -- "$backup.tmp"' EXIT
trap 'exit 130' HUP INT TERM
holds_lock "$token" || fail 4 "this run does not hold $lock any more; nothing changed"
live_now=absent
if test -e "$live" || test -L "$live"; then
	test -f "$live" && ! test -L "$live" || fail 4 "$live exists but is not a regular file; nothing changed"
	live_now=$(sha_of "$live")
fi
test "$live_now" = "$expect_live" || fail 4 "$live changed while this run held the lock (edited by hand?); nothing changed: run again"
test -n "$owner" || owner=$(stat -c '%u:%g' -- "$site_dir")

# dest_path DEST: DEST inside the site directory, only the names the program owns.
dest_path() {
	case $1 in
	config.gateway.json | .metallb-unifi.state) ;;
	.metallb-unifi-parts/*.json)
		case ${1#.metallb-unifi-parts/} in
		*/* | .*) fail 2 "bad destination $1" ;;
		esac
		;;
	*) fail 2 "bad destination $1" ;;
	esac
	printf '%s/%s\n' "$site_dir" "$1"
}

printf '%s\n' "$plan" | while IFS=' ' read -r step name dest sha; do
	case $step in
	'') ;;
	put)
		case $name in
		'' | */* | .*) fail 2 "bad upload name $name" ;;
		esac
		source=$incoming/$name
		test -f "$source" && ! test -L "$source" || fail 4 "upload $source is missing; nothing more changed"
		test "$(sha_of "$source")" = "$sha" || fail 3 "upload $source is not what was sent (sha256); nothing more changed"
		target=$(dest_path "$dest")
		chmod 0600 -- "$source"
		chown -- "$owner" "$source"
		mv -f -- "$source" "$target"
		;;
	remove)
		target=$(dest_path "$name")
		rm -f -- "$target"
		;;
	keep-original)
		if test -f "$live"; then
			cp -p -- "$live" "$backup.tmp"
			test "$(sha_of "$backup.tmp")" = "$expect_live" || fail 4 "copying $live to $backup failed; nothing more changed"
			mv -f -- "$backup.tmp" "$backup"
		fi
		;;
	restore-original)
		test -f "$backup" && ! test -L "$backup" || fail 4 "$backup is missing; $live left as it is"
		test "$(sha_of "$backup")" = "$name" || fail 4 "$backup does not match the recorded original (sha256 $name); $live left as it is"
		mv -f -- "$backup" "$live"
		;;
	remove-live) rm -f -- "$live" ;;
	remove-parts-dir) rmdir -- "$parts_dir" 2>/dev/null || true ;;
	*) fail 2 "unknown step $step" ;;
	esac
done
live_after=absent
test -f "$live" && live_after=$(sha_of "$live")
if test "$live_after" = "$expect_live"; then
	printf 'unchanged\n'
else
	printf 'changed\n'
fi
