"""notification-service (port 8004): `uvicorn notification.main:app`."""

from collections.abc import Iterable

from fastapi import FastAPI

from notification.channels import build_channels
from notification.config import Settings, get_settings
from notification.delivery import Clock, Dispatcher, RetryPolicy
from notification.routes import router
from platform_common.app import create_service_app
from platform_common.clock import utcnow
from platform_common.worker import PeriodicWorker


def _startup(settings: Settings, clock: Clock):
    def startup(app: FastAPI) -> Iterable[PeriodicWorker]:
        app.state.clock = clock
        app.state.channels = build_channels(settings)
        app.state.dispatcher = Dispatcher(app.state.session_factory, app.state.channels, RetryPolicy.from_settings(settings), clock)
        app.state.delivery_worker = PeriodicWorker("delivery", settings.delivery_interval_seconds, app.state.dispatcher.deliver_due)
        return [app.state.delivery_worker]

    return startup


def _shutdown(app: FastAPI) -> None:
    for channel in app.state.channels.values():
        channel.close()


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        service_name="notification-service",
        package="notification",
        settings=settings,
        routers=[router],
        description="Delivers notifications (mock, webhook, email) from a durable outbox, with retries and backoff.",
        startup=_startup(settings, clock),
        shutdown=_shutdown,
    )


app = create_app()
