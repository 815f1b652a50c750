#!/bin/sh
# A PostgreSQL node of the formation (docs/failover.md): run on db1, then on
# db2, as the postgres user. The first becomes primary, the second its
# synchronous secondary.
#   node.sh NAME HOSTNAME
set -eu
name=$1 host=$2
pg_autoctl create postgres \
    --pgdata /var/lib/postgresql/15/coffre \
    --pgport 5432 \
    --name "$name" \
    --hostname "$host" \
    --dbname coffre \
    --auth scram-sha-256 \
    --ssl-ca-file /etc/coffre/pg/ca.pem \
    --server-cert "/etc/coffre/pg/$host.pem" \
    --server-key "/etc/coffre/pg/$host.key" \
    --monitor 'postgres://autoctl_node@monitor.vault.example:5431/pg_auto_failover?sslmode=verify-full' \
    --pgctl /usr/lib/postgresql/15/bin/pg_ctl
# the vault's role and its pg_hba.conf entry (the same on every node):
#   createuser coffre; ALTER DATABASE coffre OWNER TO coffre;
#   hostssl coffre coffre 10.0.0.0/24 scram-sha-256
# writes stop rather than go unreplicated with three nodes and:
#   pg_autoctl set formation number-sync-standbys 1
