#!/usr/bin/env bash
# Build local STAND-INS for the third-party base images the Dockerfiles and docker-compose.yml use.
#
# No container registry is reachable from this machine, so `FROM python:3.11-slim-bookworm` and
# `image: postgres:15-bookworm` cannot be pulled. This script makes look-alike images from Debian
# bookworm packages (debootstrap + apt) and tags them with the very names the real files use, so the
# project's Dockerfiles and compose file build and run unchanged. They are stand-ins, NOT the
# official images:
#   python:3.11-slim-bookworm  Debian python3.11 (+venv, pip); `python`/`pip` in /usr/local/bin
#   postgres:15-bookworm       Debian postgresql-15 + a small docker-entrypoint.sh with the official
#                              POSTGRES_USER/PASSWORD/DB and /docker-entrypoint-initdb.d contract
#   nginx:1.27-alpine          Debian nginx 1.22 laid out like the official image (user nginx 101,
#                              conf.d, /etc/nginx/templates envsubst at start, /docker-entrypoint.sh)
#   prom/prometheus:v2.53.2    Debian prometheus 2.42, ENTRYPOINT /bin/prometheus, USER nobody
#   prom/alertmanager:v0.27.0  Debian prometheus-alertmanager 0.25 as /bin/alertmanager, USER nobody,
#                              /alertmanager, with sh, sed and wget like the official busybox image
# Grafana has no stand-in (no Debian package).
#
# Cached: the debootstrap root file system is kept in $STANDIN_CACHE and an image that already exists
# is not rebuilt (STANDIN_REBUILD=1 forces it). Cold ~2-3 min, warm ~1 s.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${STANDIN_CACHE:-$ROOT/.local/podman}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
REBUILD="${STANDIN_REBUILD:-0}"

PY_IMAGE="docker.io/library/python:3.11-slim-bookworm"
PG_IMAGE="docker.io/library/postgres:15-bookworm"
NGINX_IMAGE="docker.io/library/nginx:1.27-alpine"
PROM_IMAGE="docker.io/prom/prometheus:v2.53.2"
ALERTMANAGER_IMAGE="docker.io/prom/alertmanager:v0.27.0"
BASE_IMAGE="localhost/standin-debian:bookworm"

log() { printf '[standins] %s\n' "$*"; }

need_image() {
    [[ "$REBUILD" == 1 ]] || ! podman image exists "$1"
}

build_base() {
    if ! need_image "$BASE_IMAGE"; then
        log "base $BASE_IMAGE cached"
        return
    fi
    mkdir -p "$CACHE"
    if [[ ! -x "$CACHE/rootfs-bookworm/bin/sh" ]]; then
        log "debootstrap --variant=minbase bookworm (about 30-40 s)"
        rm -rf "$CACHE/rootfs-tmp"
        debootstrap --variant=minbase bookworm "$CACHE/rootfs-tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
            { tail -20 "$CACHE/debootstrap.log"; exit 1; }
        mv "$CACHE/rootfs-tmp" "$CACHE/rootfs-bookworm"
    fi
    slim_rootfs "$CACHE/rootfs-bookworm"
    log "importing rootfs as $BASE_IMAGE"
    tar -C "$CACHE/rootfs-bookworm" -c . | podman import - "$BASE_IMAGE" >/dev/null
}

# Make the root file system "slim" like Debian's -slim images: no apt caches, docs, man pages or
# translations, and a dpkg filter so later `apt-get install`s leave them out too.
slim_rootfs() {
    local r="$1"
    # Never touch the host: only a debootstrap tree inside the cache directory qualifies.
    if [[ -z "$r" || "$r" != "$CACHE"/* || ! -f "$r/etc/debian_version" ]]; then
        echo "refusing to slim '$r': not a rootfs under $CACHE" >&2
        exit 1
    fi
    mkdir -p "$r/etc/dpkg/dpkg.cfg.d"
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' 'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/info/*' \
        >"$r/etc/dpkg/dpkg.cfg.d/standin-slim"
    printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
        'APT::Install-Recommends "false";' >"$r/etc/apt/apt.conf.d/standin-clean"
    rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* \
        "$r"/usr/share/man/* "$r"/usr/share/locale/* "$r"/usr/share/info/*
    find "$r/usr/share/doc" -mindepth 1 -type f -not -name copyright -delete
}

# build_standin NAME CONTEXT_DIR: the Containerfile is read from stdin.
build_standin() {
    local name="$1" ctx="$2"
    cat >"$ctx/Containerfile"
    cp "$HOST_CA" "$ctx/ca-certificates.crt"
    log "building stand-in $name"
    podman build --quiet --format docker --label "org.opencontainers.image.description=LOCAL STAND-IN built from Debian packages by scripts/podman-standins.sh, not the official image" \
        -t "$name" "$ctx" >/dev/null
}

build_python() {
    need_image "$PY_IMAGE" || { log "$PY_IMAGE cached"; return; }
    local ctx; ctx="$(mktemp -d)"
    build_standin "$PY_IMAGE" "$ctx" <<'EOF'
FROM localhost/standin-debian:bookworm
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/python3 /usr/local/bin/python3 \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip
# The host reaches PyPI through a TLS-intercepting gateway: trust the host's CA bundle (stand-in only).
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > /etc/pip.conf
CMD ["python3"]
EOF
    rm -rf "$ctx"
}

build_postgres() {
    need_image "$PG_IMAGE" || { log "$PG_IMAGE cached"; return; }
    local ctx; ctx="$(mktemp -d)"
    cat >"$ctx/docker-entrypoint.sh" <<'EOF'
#!/bin/bash
# Stand-in for the official postgres entrypoint: same environment contract, fewer features.
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${PGDATA:=/var/lib/postgresql/data}"
if [[ "$(id -u)" == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    [[ -n "${POSTGRES_PASSWORD:-}" ]] || { echo "POSTGRES_PASSWORD is required" >&2; exit 1; }
    initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    if [[ "$POSTGRES_DB" != postgres ]]; then
        psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$f" ;;
            *.sh) echo "sourcing $f"; . "$f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "stand-in postgres: database initialised"
fi
exec "$@"
EOF
    build_standin "$PG_IMAGE" "$ctx" <<'EOF'
FROM localhost/standin-debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /docker-entrypoint-initdb.d /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres", "-c", "listen_addresses=*"]
EOF
    rm -rf "$ctx"
}

build_nginx() {
    need_image "$NGINX_IMAGE" || { log "$NGINX_IMAGE cached"; return; }
    local ctx; ctx="$(mktemp -d)"
    cat >"$ctx/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# Stand-in for the official nginx entrypoint: envsubst /etc/nginx/templates/*.template into
# ${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}, substituting only variables that are set.
set -e
tdir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
odir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
if [ -d "$tdir" ]; then
    defined="$(printf '${%s} ' $(env | cut -d= -f1))"
    for t in $(find "$tdir" -follow -type f -name "*$suffix"); do
        rel="${t#"$tdir/"}"
        out="$odir/${rel%"$suffix"}"
        mkdir -p "$(dirname "$out")"
        envsubst "$defined" <"$t" >"$out"
        echo "stand-in nginx entrypoint: $t -> $out"
    done
fi
exec "$@"
EOF
    cat >"$ctx/nginx.conf" <<'EOF'
user  nginx;
worker_processes  auto;
error_log  /var/log/nginx/error.log notice;
pid        /var/run/nginx.pid;
events { worker_connections 1024; }
http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;
    client_body_temp_path /var/cache/nginx/client_temp;
    proxy_temp_path       /var/cache/nginx/proxy_temp;
    fastcgi_temp_path     /var/cache/nginx/fastcgi_temp;
    uwsgi_temp_path       /var/cache/nginx/uwsgi_temp;
    scgi_temp_path        /var/cache/nginx/scgi_temp;
    access_log  /var/log/nginx/access.log;
    sendfile        on;
    keepalive_timeout  65;
    include /etc/nginx/conf.d/*.conf;
}
EOF
    build_standin "$NGINX_IMAGE" "$ctx" <<'EOF'
FROM localhost/standin-debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx-light gettext-base wget ca-certificates \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled /etc/nginx/sites-available \
 && groupadd -g 101 nginx && useradd -u 101 -g 101 -d /nonexistent -s /usr/sbin/nologin nginx \
 && mkdir -p /etc/nginx/conf.d /etc/nginx/templates /docker-entrypoint.d /var/cache/nginx /usr/share/nginx/html \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx.conf /etc/nginx/nginx.conf
COPY docker-entrypoint.sh /docker-entrypoint.sh
RUN chmod 755 /docker-entrypoint.sh
EXPOSE 80
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["nginx", "-g", "daemon off;"]
EOF
    rm -rf "$ctx"
}

build_prometheus() {
    need_image "$PROM_IMAGE" || { log "$PROM_IMAGE cached"; return; }
    local ctx; ctx="$(mktemp -d)"
    build_standin "$PROM_IMAGE" "$ctx" <<'EOF'
FROM localhost/standin-debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus wget \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus /etc/prometheus \
 && chown -R nobody:nogroup /prometheus /etc/prometheus
USER nobody
WORKDIR /prometheus
VOLUME /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
EOF
    rm -rf "$ctx"
}

build_alertmanager() {
    need_image "$ALERTMANAGER_IMAGE" || { log "$ALERTMANAGER_IMAGE cached"; return; }
    local ctx; ctx="$(mktemp -d)"
    build_standin "$ALERTMANAGER_IMAGE" "$ctx" <<'EOF'
FROM localhost/standin-debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-alertmanager wget \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/prometheus-alertmanager /bin/alertmanager \
 && mkdir -p /alertmanager /etc/alertmanager \
 && cp /etc/prometheus/alertmanager.yml /etc/alertmanager/alertmanager.yml \
 && chown -R nobody:nogroup /alertmanager /etc/alertmanager
USER nobody
WORKDIR /alertmanager
VOLUME /alertmanager
EXPOSE 9093
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
EOF
    rm -rf "$ctx"
}

main() {
    command -v podman >/dev/null || { echo "podman is not installed" >&2; exit 1; }
    [[ -r "$HOST_CA" ]] || { echo "host CA bundle $HOST_CA not readable" >&2; exit 1; }
    build_base
    build_python
    build_postgres
    build_nginx
    build_prometheus
    build_alertmanager
    log "stand-ins ready:"
    podman images --format '  {{.Repository}}:{{.Tag}} {{.Size}}' |
        grep -E 'python|postgres|nginx|prometheus|alertmanager|standin' || true
}

main "$@"
