from platform_common.migrations import run_env

run_env()
