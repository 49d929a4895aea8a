"""Identity and access, shared by every service: who is calling (`principal`), how a presented secret
becomes a principal (`credentials`), what each route requires (`policy`), and the append-only record of
every mutating request (`audit`).

Identities live in one place (oncall-service's `oncall` schema); it publishes the read-only view
`oncall.principals` (secret hash → identity) that every service reads, cached for a few seconds, so a
request costs no network hop and a revoked secret is refused everywhere within `AUTH_CACHE_SECONDS`.
"""
