set -eu
umask 077
# Put back the user's original config.gateway.json (see components/unifi/scripts/__init__.py).
# Parameters: site_dir stack
# @PARAMETERS@
# @COMMON@

if ! test -e "$state"; then
	if test -e "$backup"; then
		printf 'metallb-unifi: %s exists but %s does not; left both alone\n' "$backup" "$state" >&2
	fi
	printf 'unchanged\n'
	exit 0
fi
trap 'rm -f -- "$state_tmp"' EXIT
trap 'exit 130' HUP INT TERM
read_state
if test "$state_stack" != "$stack"; then
	fail 4 "$live is managed by stack '$state_stack' (see $state), not '$stack'; nothing changed"
fi

live_sha=
if test -e "$live" || test -L "$live"; then
	test -f "$live" || fail 4 "$live exists but is not a regular file; nothing changed"
	live_sha=$(sha_of "$live")
fi
if test -n "$live_sha" && test "$live_sha" != "$state_installed" && test "$live_sha" != "$state_previous" &&
	! { test "$state_original" = present && test "$live_sha" = "$state_original_sha256"; }; then
	fail 4 "$live was changed outside stack '$stack' (edited by hand or written by another tool); refusing to overwrite it, nothing changed. Compare it with $backup (your original, if any); put back what you want by hand, then remove $state and $backup"
fi

result=unchanged
if test "$state_original" = present; then
	backup_ok=no
	if test -f "$backup" && ! test -L "$backup" && test "$(sha_of "$backup")" = "$state_original_sha256"; then
		backup_ok=yes
	fi
	if test "$live_sha" = "$state_original_sha256"; then
		# Already back (an earlier restore stopped half-way, or put back by hand).
		if test "$backup_ok" = yes; then
			rm -f -- "$backup"
		elif test -e "$backup"; then
			printf 'metallb-unifi: %s does not match the recorded original; left it alone\n' "$backup" >&2
		fi
	elif test "$backup_ok" = yes; then
		# mv keeps the original's owner and mode (the backup was made with cp -p).
		mv -f -- "$backup" "$live"
		result=changed
	else
		fail 4 "$backup is missing or does not match the recorded original (sha256 $state_original_sha256); refusing to touch $live, nothing changed"
	fi
elif test -n "$live_sha"; then
	rm -f -- "$live"
	result=changed
fi
rm -f -- "$state"
printf '%s\n' "$result"
