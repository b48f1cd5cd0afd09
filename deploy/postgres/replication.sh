#!/bin/sh
# Run by the postgres image once, when it makes the primary's data directory
# (docker-compose.yml mounts it in /docker-entrypoint-initdb.d): lets the
# standby (db-replica) copy and follow this server over the network. The
# image's own pg_hba.conf line, "host all all all", covers no replication
# connection, so pg_basebackup was refused and db-replica never started.
set -eu
printf 'host replication %s all scram-sha-256\n' "$POSTGRES_USER" >> "$PGDATA/pg_hba.conf"
