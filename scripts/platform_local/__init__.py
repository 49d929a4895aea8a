"""Running the platform on this machine without Docker: a local PostgreSQL cluster and the service
processes. Used by `make run`, by the end-to-end tests and by the benchmarks."""
