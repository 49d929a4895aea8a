"""How `platform_common.serve` tells the processes it starts that they serve one service together: two
environment variables, read by the metrics (`platform_common.metrics`, `platform_common.process_group`)
without importing the launcher and uvicorn's command line with it."""

# Read by prometheus-client in every process the launcher starts, and by `platform_common.metrics`.
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
SUPERVISOR_PID = "PLATFORM_SERVE_PID"  # whose processes `/metrics` adds up (`platform_common.process_group`)
