set -eu
umask 077
# Give the site's lock back, if this run still holds it (see components/unifi/shared_file.py).
# Parameters: site_dir token
# @PARAMETERS@
# @COMMON@

if holds_lock "$token"; then
	rm -rf -- "$incoming"
	rm -f -- "$lock"
	printf 'unlocked\n'
else
	printf 'not-held\n'
fi
