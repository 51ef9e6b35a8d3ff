set -eu
umask 077
# Create the site directory, if missing, before the first stack's part goes into it
# (see components/unifi/scripts/__init__.py).
# Parameters: site_dir owner
# @PARAMETERS@

# Only sites/ and sites/<site> are ever created: a missing data directory means a
# wrong path, and creating it would hide the mistake.
data_dir=${site_dir%/*/*}
sites_dir=${site_dir%/*}
test -d "$data_dir" || {
	printf 'metallb-unifi: controller data directory %s does not exist (wrong data path?); nothing changed\n' "$data_dir" >&2
	exit 5
}
result=unchanged
for dir in "$sites_dir" "$site_dir"; do
	if ! test -d "$dir"; then
		mkdir -- "$dir"
		# 0755 like the directories the controller creates itself; the secret lives in
		# a 0600 file, the directory only holds names.
		chmod 0755 -- "$dir"
		chown -- "$owner" "$dir"
		result=changed
	fi
done

printf '%s\n' "$result"
