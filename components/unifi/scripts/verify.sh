set -eu
umask 077
# Print the live config.gateway.json's sha256, or "absent" (see components/unifi/scripts/__init__.py).
# Parameters: site_dir
# @PARAMETERS@
# @COMMON@

if test -e "$live" || test -L "$live"; then
	sha_of "$live"
else
	printf 'absent\n'
fi
