"""Identity and access (SPEC §10), owned by oncall-service: users, teams, personal API tokens, web
sessions, integration keys, login and the audit log. Other services read `oncall.principals`."""
