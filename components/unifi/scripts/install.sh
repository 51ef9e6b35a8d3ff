set -eu
umask 077
# Install a staged config.gateway.json (see components/unifi/scripts/__init__.py).
# Parameters: site_dir staged_name expected_sha256 owner stack
# @PARAMETERS@
# @COMMON@

staged=$site_dir/$staged_name
# The staged file (it may hold the BGP password) goes when the script ends, except after a
# refusal the user can fix (keep_staged=yes): the next run then installs it without a new upload.
keep_staged=no
trap 'test "$keep_staged" = yes || rm -f -- "$staged"; rm -f -- "$state_tmp" "$backup.tmp"' EXIT
trap 'exit 130' HUP INT TERM

case $expected_sha256 in
*[!0-9a-f]*) fail 2 "expected sha256 is not lowercase hex" ;;
esac
test ${#expected_sha256} -eq 64 || fail 2 "expected sha256 is not 64 hex digits"

test -d "$site_dir" || fail 5 "site directory $site_dir does not exist (run the prepare script first)"
if test -L "$staged" || ! test -f "$staged"; then
	# Nothing staged, but this content already installed by this stack (a re-run after an input
	# change that needed no new upload): nothing to do.
	if test -f "$live" && ! test -L "$live" && test -f "$state" && test "$(sha_of "$live")" = "$expected_sha256"; then
		read_state
		if test "$state_stack" = "$stack" && test "$state_installed" = "$expected_sha256"; then
			printf 'unchanged\n'
			exit 0
		fi
	fi
	fail 5 "staged file $staged is missing or not a regular file; nothing changed. To upload it again: pulumi up --replace URN-of-usg-stage --replace URN-of-usg-upload (pulumi stack --show-urns lists them)"
fi

staged_sha=$(sha_of "$staged")
if test "$staged_sha" != "$expected_sha256"; then
	fail 3 "staged file sha256 $staged_sha does not match the expected $expected_sha256 (upload corrupted?); removed it, nothing else changed"
fi
# From here on a failure is a refusal (or a crash): keep the verified upload for the next run.
keep_staged=yes

live_sha=
if test -e "$live" || test -L "$live"; then
	test -f "$live" || fail 4 "$live exists but is not a regular file; nothing changed"
	live_sha=$(sha_of "$live")
fi

if test -e "$state"; then
	read_state
	if test "$state_stack" != "$stack"; then
		fail 4 "$live is managed by stack '$state_stack' (see $state), not '$stack'; nothing changed. Destroy that stack first, or remove $state to take over"
	fi
	if test -n "$live_sha" && test "$live_sha" != "$state_installed" && test "$live_sha" != "$state_previous" &&
		! { test "$state_original" = present && test "$live_sha" = "$state_original_sha256"; }; then
		fail 4 "$live was changed outside stack '$stack' (edited by hand or written by another tool); nothing changed. Compare it with $backup (your original, if any). To keep the current file as your new original: remove $state and $backup, then run again. To drop the change: copy $backup over it (or remove it if there is no backup), then run again"
	fi
	if test "$live_sha" = "$expected_sha256" && test "$state_installed" = "$expected_sha256"; then
		keep_staged=no
		printf 'unchanged\n'
		exit 0
	fi
	original=$state_original
	original_sha256=$state_original_sha256
else
	# First install: the live file, if any, is the user's original; keep it once.
	if test -e "$backup" || test -L "$backup"; then
		if test -z "$live_sha" || test -L "$backup" || ! test -f "$backup" || test "$(sha_of "$backup")" != "$live_sha"; then
			fail 4 "$backup exists but $state does not; nothing changed. If $live is your original, remove $backup; otherwise put $backup back as $live_name; then run again"
		fi
		# Left by an interrupted first install: same content as the live file, keep it.
	elif test -n "$live_sha"; then
		cp -p -- "$live" "$backup.tmp"
		test "$(sha_of "$backup.tmp")" = "$live_sha" || fail 4 "copying $live to $backup failed; nothing changed"
		mv -f -- "$backup.tmp" "$backup"
	fi
	if test -n "$live_sha"; then
		original=present
		original_sha256=$live_sha
	else
		original=absent
		original_sha256=
	fi
fi

# Secret-safe before it gets its final name: mode and owner on the staged file.
chmod 0600 -- "$staged"
chown -- "$owner" "$staged"
# Record the new content first (previous_sha256 covers a crash before the mv), then
# swap atomically (same filesystem), then settle the state.
write_state "$expected_sha256" "$live_sha" "$original" "$original_sha256"
mv -f -- "$staged" "$live"
write_state "$expected_sha256" "" "$original" "$original_sha256"

if test "$live_sha" = "$expected_sha256"; then
	printf 'unchanged\n'
else
	printf 'changed\n'
fi
