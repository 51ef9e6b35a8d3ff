set -eu
umask 077
# Create the site directory, if missing, so the staged file can be uploaded into it, and
# optionally an empty staged file owned by the uploading user (see components/unifi/scripts/__init__.py).
# Parameters: site_dir owner staged_name upload_user
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

# An SFTP upload without sudo cannot create a file in a directory the controller user
# owns, but it can overwrite a file of its own: leave an empty one, 0600, for it.
if test -n "$upload_user"; then
	staged=$site_dir/$staged_name
	if test -L "$staged" || test -d "$staged"; then
		printf 'metallb-unifi: staged path %s is a symlink or a directory; remove it by hand\n' "$staged" >&2
		exit 4
	fi
	rm -f -- "$staged"
	# noclobber: the redirection refuses anything that appeared in between (O_EXCL).
	(set -C && : >"$staged") || {
		printf 'metallb-unifi: cannot create the staged file %s; nothing uploaded\n' "$staged" >&2
		exit 4
	}
	chmod 0600 -- "$staged"
	chown -- "$upload_user" "$staged"
fi
printf '%s\n' "$result"
