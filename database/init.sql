-- Run once when the database is created (compose: /docker-entrypoint-initdb.d; local run: by the runner).
-- Extensions and one schema per service. Tables come from each service's own versioned migrations.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS alert_ingestion;
CREATE SCHEMA IF NOT EXISTS incident_management;
CREATE SCHEMA IF NOT EXISTS oncall;
CREATE SCHEMA IF NOT EXISTS notification;
