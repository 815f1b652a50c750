#!/bin/sh
# The pg_auto_failover monitor, on its own machine (docs/failover.md).
# Run as the postgres user; PGDATA on a disk of its own.
set -eu
pg_autoctl create monitor \
    --pgdata /var/lib/postgresql/15/monitor \
    --pgport 5431 \
    --hostname monitor.vault.example \
    --auth scram-sha-256 \
    --ssl-ca-file /etc/coffre/pg/ca.pem \
    --server-cert /etc/coffre/pg/monitor.pem \
    --server-key /etc/coffre/pg/monitor.key \
    --pgctl /usr/lib/postgresql/15/bin/pg_ctl
# then, as a service: pg_autoctl -q show systemd --pgdata ... > unit file
