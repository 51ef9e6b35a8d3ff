set -eu
umask 077
# Print what read.sh prints, without the lock: the program's look for drift at preview and up
# (see components/unifi/drift.py). Every file it prints is replaced whole (mv), so each is one
# version of itself; the client classifies again under the lock before it changes anything.
# Only the program reads the output, and never shows a file's content.
# Parameters: site_dir
# @PARAMETERS@
# @COMMON@

show_site
