#!/usr/bin/env bash
# Production profile: one login role per service, each owning only its own schema (README "Production
# profile"). Run once, when the database is created, by the postgres image (docker-compose.prod.yml
# mounts it as /docker-entrypoint-initdb.d/002-roles.sh, after 001-init.sql), or by hand / by the tests
# against any server: psql connects as POSTGRES_USER to POSTGRES_DB, plus PGHOST / PGPORT / PGPASSWORD
# when set. Running it again is safe: it creates what is missing and sets the passwords again (rotation).
#
#   role                 owns schema          password from
#   alert_ingestion      alert_ingestion      ALERT_INGESTION_DB_PASSWORD
#   incident_management  incident_management  INCIDENT_MANAGEMENT_DB_PASSWORD
#   oncall               oncall               ONCALL_DB_PASSWORD
#   notification         notification         NOTIFICATION_DB_PASSWORD
#
# A role gets LOGIN, CONNECT on the database and its own schema (its migrations create its tables
# there) and nothing else: no CREATE on the database, no rights on the other schemas. Reading another
# service's published view is granted by the owning service's own migration when it creates the view
# (platform_common.grants). Passwords reach psql through \getenv, never on a command line.
set -euo pipefail

ROLES=(alert_ingestion incident_management oncall notification)

: "${POSTGRES_USER:?set POSTGRES_USER (the superuser roles.sh connects as)}"
: "${POSTGRES_DB:?set POSTGRES_DB (the platform database)}"
for role in "${ROLES[@]}"; do
    variable="${role^^}_DB_PASSWORD"
    if [[ -z "${!variable:-}" ]]; then
        echo "roles.sh: set $variable (the database password of the $role service role)" >&2
        exit 1
    fi
done

sql() {
    echo "SET client_min_messages = warning;"
    echo "REVOKE ALL ON DATABASE :\"DBNAME\" FROM PUBLIC;"
    echo "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
    for role in "${ROLES[@]}"; do
        cat <<SQL
\\set role $role
\\getenv password ${role^^}_DB_PASSWORD
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
GRANT CONNECT ON DATABASE :"DBNAME" TO :"role";
CREATE SCHEMA IF NOT EXISTS :"role";
ALTER SCHEMA :"role" OWNER TO :"role";
SQL
    done
}

sql | psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "$POSTGRES_DB"
echo "roles.sh: service roles ready: ${ROLES[*]}"
