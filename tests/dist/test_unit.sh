#!/bin/bash
# The systemd unit (issue 15): `systemd-analyze verify` accepts it with no
# complaint at all, it keeps the settings the service depends on and the
# sandboxing the issue names, and `systemd-analyze security` rates it at
# most 2.0 ("OK"). The unit names /usr/bin/coffre: the copy checked here
# points at the binary under test instead (verify needs it to exist).
# Usage: test_unit.sh UNIT
. "$SRCDIR/tests/cli/lib.sh"
UNIT=${1:?usage: test_unit.sh UNIT}
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze"; exit 77; }

u="$T/coffre.service"
sed "s#/usr/bin/coffre #$COFFRE #g" "$UNIT" >"$u"
grep -q "^ExecStart=$COFFRE server --config " "$u" && pass ||
    fail "ExecStart does not run /usr/bin/coffre server --config"

# Everything verify says is a finding (an unknown key is only a warning,
# exit 0): the output must be empty. Man pages are checked by test_man.
if systemd-analyze verify --man=no "$u" >"$T/verify" 2>&1 &&
    [ ! -s "$T/verify" ]; then pass; else
    fail "systemd-analyze verify:"; sed 's/^/  | /' "$T/verify" >&2; fi

for line in 'Type=notify' 'WatchdogSec=30s' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'User=coffre' 'ProtectSystem=strict' 'PrivateTmp=yes' \
    'NoNewPrivileges=yes' 'MemoryDenyWriteExecute=yes' \
    'SystemCallFilter=@system-service' 'CapabilityBoundingSet=' \
    'ProtectHome=yes' 'PrivateDevices=yes' 'ReadWritePaths=/var/lib/coffre' \
    'LockPersonality=yes' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
    grep -qxF -- "$line" "$u" && pass || fail "the unit lacks '$line'"
done

# The exposure systemd computes from the unit alone (0 best, 10 worst).
if systemd-analyze security --offline=true --threshold=20 "$u" \
    >"$T/security" 2>&1; then pass; else
    fail "systemd-analyze security: exposure above 2.0"
    grep -E '^✗|Overall' "$T/security" | sed 's/^/  | /' >&2; fi
grep -a 'Overall exposure' "$T/security"
finish
