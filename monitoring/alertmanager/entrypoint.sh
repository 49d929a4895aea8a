#!/bin/sh
# Compose entrypoint of the `alertmanager` service: fills the ${ALERTMANAGER_*} placeholders of
# /etc/alertmanager/alertmanager.yml from the environment (Alertmanager itself does not expand
# variables) into a file on the container's tmpfs, then runs Alertmanager on it with the given flags.
# POSIX sh and sed only: it runs in the official busybox-based image and in the Debian stand-in.
set -eu
TEMPLATE="${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
RENDERED="${ALERTMANAGER_RENDERED_CONFIG:-/tmp/alertmanager.yml}"
VARIABLES="ALERTMANAGER_SMTP_SMARTHOST ALERTMANAGER_EMAIL_FROM ALERTMANAGER_EMAIL_TO ALERTMANAGER_SMTP_REQUIRE_TLS"

script=""
for name in $VARIABLES; do
    value="$(printenv "$name" || true)"
    [ -n "$value" ] || { echo "alertmanager entrypoint: $name is not set" >&2; exit 1; }
    # Escape what sed's replacement treats specially (\, & and the | delimiter).
    value="$(printf '%s' "$value" | sed -e 's/[\\&|]/\\&/g')"
    script="${script}s|\${${name}}|${value}|g;"
done
sed -e "$script" "$TEMPLATE" >"$RENDERED"
exec alertmanager --config.file="$RENDERED" "$@"
