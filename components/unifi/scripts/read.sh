set -eu
umask 077
# Print what the client composes from, under the lock (see components/unifi/shared_file.py):
# show_site (common.sh): the state, the live file, the backup's sha256 and the parts. Like
# original.sh it prints file contents (the parts and the live file hold the BGP password): only
# the program's client runs it.
# Parameters: site_dir token
# @PARAMETERS@
# @COMMON@

holds_lock "$token" || fail 4 "this run does not hold $lock; nothing read"
show_site
