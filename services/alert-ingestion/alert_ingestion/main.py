"""alert-ingestion service (port 8001): `uvicorn alert_ingestion.main:app`."""

from collections.abc import Iterable

from fastapi import FastAPI

from alert_ingestion.config import Settings, get_settings
from alert_ingestion.correlation import Correlator
from alert_ingestion.routes import router
from platform_common.app import create_service_app
from platform_common.http import ServiceClient
from platform_common.worker import PeriodicWorker


def _startup(settings: Settings):
    def startup(app: FastAPI) -> Iterable[PeriodicWorker]:
        app.state.incidents = ServiceClient(
            "incident-management", settings.incident_management_url,
            timeout=settings.http_timeout_seconds, retries=settings.http_retries,
        )
        app.state.correlator = Correlator(app.state.engine, app.state.incidents, settings.correlation_window_seconds)
        return [PeriodicWorker("pending-alerts", settings.pending_retry_seconds, app.state.correlator.correlate_pending)]

    return startup


def _shutdown(app: FastAPI) -> None:
    app.state.incidents.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        service_name="alert-ingestion",
        package="alert_ingestion",
        settings=settings,
        routers=[router],
        description="Accepts alerts, stores them and correlates them into incidents.",
        startup=_startup(settings),
        shutdown=_shutdown,
    )


app = create_app()
