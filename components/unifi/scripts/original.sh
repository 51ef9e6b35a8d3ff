set -eu
umask 077
# Print the user's original config.gateway.json for the client's kept-settings check, and the
# stacks' parts (the settings another stack keeps or owns are not this stack's to keep) (see
# components/unifi/scripts/__init__.py). Like read.sh it prints files: only the program's own
# client runs it, over SSH, and never shows what it reads. Reads without the lock: every file it
# prints is replaced whole (mv), and the provision checks again under the lock.
# Parameters: site_dir stack
# @PARAMETERS@
# @COMMON@

if test -e "$state"; then
	# This stack installed already: its backup is the original.
	read_state
	# Format 2: several stacks share the file, each may read the original.
	if test "$state_format" = 1 && test "$state_stack" != "$stack"; then
		fail 4 "$live is managed by stack '$state_stack' (see $state), not '$stack'; nothing changed. Destroy that stack first, or remove $state to take over"
	fi
	if test "$state_original" = absent; then
		printf 'original absent\n'
		show_parts
		exit 0
	fi
	if test -L "$backup" || ! test -f "$backup" || test "$(sha_of "$backup")" != "$state_original_sha256"; then
		fail 4 "$backup is missing or does not match the recorded original (sha256 $state_original_sha256); nothing changed"
	fi
	source=$backup
else
	if ! test -e "$live" && ! test -L "$live"; then
		printf 'original absent\n'
		show_parts
		exit 0
	fi
	test -f "$live" || fail 4 "$live exists but is not a regular file; nothing changed"
	source=$live
fi
show original "$source"
show_parts
