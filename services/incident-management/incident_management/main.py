"""incident-management service (port 8002): `uvicorn incident_management.main:app`."""

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

from incident_management import counts
from incident_management.config import Settings, get_settings
from incident_management.metrics import SERVICES, IncidentStateCollector
from incident_management.pagelinks.routes import router as pagelinks_router
from incident_management.paging import Pager
from incident_management.routes import router
from platform_common.app import create_service_app
from platform_common.http import ServiceClient
from platform_common.metrics import register_collector, unregister_collector
from platform_common.pagelinks import PageLinker
from platform_common.worker import PeriodicWorker, WorkerGroup

LOOKUP_THREADS = 40  # as many as the threads requests run in (anyio's default): a slow oncall-service queues nobody


def _startup(settings: Settings):
    def startup(app: FastAPI) -> Iterable[PeriodicWorker]:
        timeout = settings.http_timeout_seconds
        app.state.oncall = ServiceClient(
            "oncall-service", settings.oncall_service_url, timeout=timeout, retries=1, token=settings.service_token
        )
        app.state.notifier = ServiceClient(
            "notification-service",
            settings.notification_service_url,
            timeout=timeout,
            retries=settings.http_retries,
            token=settings.service_token,
        )
        # Opening asks oncall-service here while its request's thread reads the batch (opening.py).
        app.state.lookups = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="oncall-lookup")
        SERVICES.limit = settings.metrics_max_services
        app.state.state_collector = IncidentStateCollector(app.state.engine)
        register_collector(app.state.state_collector)
        app.state.page_links = PageLinker.from_settings(settings)
        pager = Pager(
            app.state.session_factory,
            app.state.oncall,
            app.state.notifier,
            settings.page_channels,
            settings.page_max_backoff_seconds,
            links=app.state.page_links,
        )
        app.state.pagers = WorkerGroup("pager", settings.pager_workers, settings.page_interval_seconds, pager.deliver_due)
        return [*app.state.pagers.workers, PeriodicWorker("incident-counts", counts.FOLD_SECONDS, lambda: counts.fold(app.state.engine))]

    return startup


def _shutdown(app: FastAPI) -> None:
    unregister_collector(app.state.state_collector)
    app.state.lookups.shutdown(cancel_futures=True)
    app.state.oncall.close()
    app.state.notifier.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        service_name="incident-management",
        package="incident_management",
        settings=settings,
        routers=[router, pagelinks_router],
        description="Incidents, notes, timeline, MTTA / MTTR; assigns and pages the on-call.",
        startup=_startup(settings),
        shutdown=_shutdown,
    )


app = create_app()
