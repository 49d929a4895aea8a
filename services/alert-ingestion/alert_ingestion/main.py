"""alert-ingestion service (port 8001): `uvicorn alert_ingestion.main:app`."""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from alert_ingestion.config import Settings, get_settings
from alert_ingestion.correlation import Correlator
from alert_ingestion.events_v2.routes import router as events_v2_router
from alert_ingestion.fast_intake import fast_intake_route
from alert_ingestion.heartbeats.metrics import DOWN as HEARTBEATS_DOWN
from alert_ingestion.heartbeats.monitor import HeartbeatMonitor
from alert_ingestion.heartbeats.routes import router as heartbeats_router
from alert_ingestion.metrics import SERVICES
from alert_ingestion.resolution import ResolutionReporter
from alert_ingestion.retention import ALERTS
from alert_ingestion.routes import router
from alert_ingestion.routing.routes import routers as routing_routers
from alert_ingestion.storing import intake_pool
from alert_ingestion.webhooks import router as webhooks_router
from platform_common.app import create_service_app
from platform_common.http import peer_client
from platform_common.retention import RetentionWorker
from platform_common.worker import PeriodicWorker


def _startup(settings: Settings):
    def startup(app: FastAPI) -> Iterable[PeriodicWorker]:
        app.state.incidents = peer_client("incident-management", settings.incident_management_url, settings)
        SERVICES.limit = settings.metrics_max_services
        intake = intake_pool(settings.database_url, settings.intake_pool_size)
        app.state.correlator = Correlator(app.state.engine, intake, app.state.incidents, settings.correlation_window_seconds)
        reporter = ResolutionReporter(app.state.engine, app.state.incidents, auto_resolve=settings.auto_resolve_incidents)
        app.state.resolution_worker = PeriodicWorker("resolutions", settings.pending_retry_seconds, reporter.report_pending)
        monitor = app.state.heartbeat_monitor = HeartbeatMonitor(app.state.engine, app.state.correlator, loop=asyncio.get_running_loop())
        HEARTBEATS_DOWN.watch(app.state.engine)
        return [
            PeriodicWorker("pending-alerts", settings.pending_retry_seconds, app.state.correlator.correlate_pending),
            app.state.resolution_worker,
            PeriodicWorker("heartbeats", settings.heartbeat_check_seconds, monitor.check),
            RetentionWorker(
                app.state.engine, [ALERTS], max_age_days=settings.alert_retention_days, interval_seconds=settings.retention_interval_seconds
            ),
        ]

    return startup


@asynccontextmanager
async def _intake_pool_open(app: FastAPI) -> AsyncIterator[None]:
    await app.state.correlator.alert_store.pool.open()
    try:
        yield
    finally:
        await app.state.correlator.alert_store.pool.close()


def _shutdown(app: FastAPI) -> None:
    HEARTBEATS_DOWN.forget(app.state.engine)
    app.state.incidents.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        service_name="alert-ingestion",
        package="alert_ingestion",
        settings=settings,
        routers=[webhooks_router, router, heartbeats_router, events_v2_router, *routing_routers],
        description="Accepts alerts, stores them and correlates them into incidents.",
        startup=_startup(settings),
        shutdown=_shutdown,
        resources=_intake_pool_open,
    )
    app.router.routes.insert(0, fast_intake_route(app))
    return app


app = create_app()
