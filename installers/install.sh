#!/bin/sh
# Install AI Retouch for this user on macOS or Linux (a thin wrapper: installers/install.py does the work).
#   installers/install.sh               install, or bring an installation up to date
#   installers/install.sh --uninstall   remove it again (--purge also removes the token and style memory)
#   installers/install.sh --dry-run     say what would change
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
  [ -n "$py" ] || continue
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    exec "$py" "$here/install.py" "$@"
  fi
done
echo "AI Retouch needs Python 3.11 or newer. Install it (https://www.python.org/downloads/), then run this again." >&2
exit 1
