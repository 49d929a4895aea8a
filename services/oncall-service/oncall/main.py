"""oncall-service (port 8003): `uvicorn oncall.main:app`."""

from collections.abc import Iterable

from fastapi import FastAPI

from oncall.config import Settings, get_settings
from oncall.engine import EscalationEngine
from oncall.handoffs.notifier import HandoffNotifier
from oncall.ical.routes import router as ical_router
from oncall.identity.routes import router as identity_router
from oncall.identity.secrets import ensure_bootstrap_admin, forget_old_sessions
from oncall.metrics import OnCallCollector
from oncall.people.routes import router as people_router
from oncall.policies.routes import router as policies_router
from oncall.routes import router
from platform_common.app import create_service_app
from platform_common.clock import utcnow
from platform_common.http import peer_client
from platform_common.metrics import register_collector, unregister_collector
from platform_common.worker import PeriodicWorker, WorkerGroup


def _startup(settings: Settings):
    def startup(app: FastAPI) -> Iterable[PeriodicWorker]:
        _bootstrap_admin(app, settings)
        app.state.incidents = peer_client("incident-management", settings.incident_management_url, settings)
        app.state.notifier = peer_client("notification-service", settings.notification_service_url, settings)
        app.state.oncall_collector = OnCallCollector(app.state.session_factory, utcnow)
        register_collector(app.state.oncall_collector)
        app.state.escalation_engine = EscalationEngine(
            app.state.session_factory,
            app.state.incidents,
            app.state.notifier,
            settings.page_channels,
            max_backoff_seconds=settings.escalation_max_backoff_seconds,
        )
        app.state.handoff_notifier = HandoffNotifier(
            app.state.session_factory, app.state.notifier, settings.page_channels, utcnow, settings.escalation_max_backoff_seconds
        )
        interval = settings.escalation_interval_seconds
        deliverers = WorkerGroup(
            "escalation-delivery", settings.escalation_delivery_workers, interval, app.state.escalation_engine.deliverer.deliver_due
        )
        app.state.escalation_engine.wake_deliverers = deliverers.wake  # one per claimed level, in turn
        return [
            PeriodicWorker("escalation", interval, app.state.escalation_engine.run_cycle),
            *deliverers.workers,
            PeriodicWorker("handoffs", settings.handoff_check_seconds, app.state.handoff_notifier.run_cycle),
            PeriodicWorker("identity-housekeeping", 300, lambda: _housekeeping(app)),
        ]

    return startup


def _bootstrap_admin(app: FastAPI, settings: Settings) -> None:
    with app.state.session_factory() as session:
        ensure_bootstrap_admin(
            session,
            token=settings.bootstrap_admin_token,
            email=settings.bootstrap_admin_email,
            password=settings.bootstrap_admin_password,
            now=utcnow(),
        )
        session.commit()


def _housekeeping(app: FastAPI) -> None:
    """Expired sessions and old failed-login records are deleted."""
    with app.state.session_factory() as session:
        forget_old_sessions(session, now=utcnow())
        session.commit()


def _shutdown(app: FastAPI) -> None:
    unregister_collector(app.state.oncall_collector)
    app.state.incidents.close()
    app.state.notifier.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        service_name="oncall-service",
        package="oncall",
        settings=settings,
        routers=[identity_router, router, ical_router, policies_router, people_router],
        description="On-call schedules, rotations and overrides; escalates unacknowledged incidents.",
        startup=_startup(settings),
        shutdown=_shutdown,
    )


app = create_app()
