"""notification-service (port 8004): `uvicorn notification.main:app`."""

from collections.abc import Iterable

from fastapi import FastAPI

from notification.channels import build_channels
from notification.config import Settings, get_settings
from notification.dispatcher import Clock, Dispatcher
from notification.lanes import Lanes
from notification.metrics import FAILING
from notification.reports import Reporter
from notification.retention import NOTIFICATIONS
from notification.retries import RetryPolicy
from notification.routes import router
from platform_common.app import create_service_app
from platform_common.clock import utcnow
from platform_common.http import peer_client
from platform_common.retention import RetentionWorker
from platform_common.worker import PeriodicWorker, WorkerGroup


def _startup(settings: Settings, clock: Clock):
    def startup(app: FastAPI) -> Iterable[PeriodicWorker]:
        app.state.clock = clock
        app.state.channels = build_channels(settings)
        app.state.incidents = peer_client("incident-management", settings.incident_management_url, settings)
        app.state.dispatcher = Dispatcher(
            app.state.session_factory,
            app.state.channels,
            RetryPolicy.from_settings(settings),
            app.state.incidents,
            lease_seconds=settings.delivery_lease_seconds,
            lanes=Lanes(settings.delivery_max_per_destination, settings.delivery_stall_seconds),
            batch_size=settings.delivery_workers,
            attempt_seconds=settings.delivery_attempt_timeout_seconds,
            clock=clock,
        )
        interval = settings.delivery_interval_seconds
        app.state.delivery_workers = WorkerGroup("delivery", settings.delivery_workers, interval, app.state.dispatcher.deliver_due)
        base, maximum = settings.delivery_retry_base_seconds, settings.delivery_retry_max_seconds
        app.state.reporter = Reporter(app.state.session_factory, app.state.incidents, base, maximum, clock)
        FAILING.watch(app.state.session_factory)
        retention = RetentionWorker(
            app.state.engine,
            [NOTIFICATIONS],
            max_age_days=settings.notification_retention_days,
            interval_seconds=settings.retention_interval_seconds,
            clock=clock,
        )
        return [*app.state.delivery_workers.workers, PeriodicWorker("timeline-reports", interval, app.state.reporter.report_due), retention]

    return startup


def _shutdown(app: FastAPI) -> None:
    FAILING.forget(app.state.session_factory)
    app.state.incidents.close()
    for channel in app.state.channels.values():
        channel.close()


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        service_name="notification-service",
        package="notification",
        settings=settings,
        routers=[router],
        description="Delivers notifications (mock, webhook, email, apprise) from a durable outbox: bounded attempts on several workers, "
        "retries with backoff, pages kept going while their incident is open, fallbacks, allow-listed webhook hosts.",
        startup=_startup(settings, clock),
        shutdown=_shutdown,
    )


app = create_app()
