set -eu
umask 077
# Print what the client composes from, under the lock (see components/unifi/shared_file.py):
# "state SIZE" and the state file (or "state absent"), "live SHA|absent", "backup SHA|absent",
# then "part NAME SIZE" and each file of the parts directory, then "end". Like original.sh it
# prints file contents (the parts hold the BGP password): only the program's client runs it.
# Parameters: site_dir token
# @PARAMETERS@
# @COMMON@

holds_lock "$token" || fail 4 "this run does not hold $lock; nothing read"
sha_or_absent() {
	if test -e "$1" || test -L "$1"; then
		test -f "$1" && ! test -L "$1" || fail 4 "$1 exists but is not a regular file; nothing changed"
		sha_of "$1"
	else
		printf 'absent\n'
	fi
}
if test -e "$state"; then
	show state "$state"
else
	printf 'state absent\n'
fi
printf 'live %s\n' "$(sha_or_absent "$live")"
printf 'backup %s\n' "$(sha_or_absent "$backup")"
show_parts
