"""The app factory: ``create_app(settings)``; everything heavy is built in the lifespan.

``create_app_from_env`` is the factory uvicorn's worker processes import (``openkyc serve
--workers N``): each builds its own ``Settings()`` from the ``OPENKYC_*`` environment the CLI set.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from openkyc.api import errors, openapi
from openkyc.api.gateway import Gateway
from openkyc.api.routes import core, documents, faces, management, privacy, rules, sessions, usage, verification
from openkyc.api.tencent.routes import router as tencent_router
from openkyc.api.warmup import warm_process
from openkyc.biometrics.repository import SubjectRepository
from openkyc.blas import limit_threads as limit_blas_threads
from openkyc.diagnostics.metrics import Metrics
from openkyc.jobs import open_jobs
from openkyc.logs import configure_logging
from openkyc.privacy.sweep import RetentionScheduler
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.runtime import ModelSet, Runtime
from openkyc.settings import Settings
from openkyc.web.console import build_console


def _start_up(runtime: Runtime) -> None:
    """Validates the data-processing policy and the price lists, builds the 1:N index from the database."""
    gate = runtime.gate  # loads and validates the policy file: a bad policy stops start-up
    runtime.prices  # noqa: B018 - loads and validates the price list file: a bad one stops start-up
    if not gate.allows(Purpose.PROVIDE_FEATURES, DataElement.TEMPLATE):
        return  # a narrower policy without 1:N search: no index to build (searches are refused)
    snapshots = runtime.index_snapshots
    with runtime.transaction() as session:
        from_database = runtime.face_index.load(session, SubjectRepository(session, gate, runtime.keyring), snapshots)
    if snapshots is not None:  # large collections read from the database: snapshot them for next time
        runtime.face_index.write_snapshots(
            snapshots, runtime.clock(), min_templates=runtime.settings.index_snapshot_min_templates, only=from_database
        )


def _shut_down(runtime: Runtime) -> None:
    """Writes fresh index snapshots (their old keys destroyed) for the next start."""
    snapshots = runtime.index_snapshots
    if snapshots is not None and runtime.components.get("face_index") is not None:
        runtime.face_index.write_snapshots(
            snapshots, runtime.clock(), min_templates=runtime.settings.index_snapshot_min_templates
        )


def _load_models(models: ModelSet) -> None:
    models.faces  # noqa: B018  YuNet + SFace
    models.liveness  # noqa: B018
    models.documents  # noqa: B018  RapidOCR (+ its own YuNet)
    limit_blas_threads(models.num_threads)  # every BLAS loaded by now (numpy's, OpenCV's, faiss's)
    models.warm_up()  # one inference each: the first request is served like the tenth


# A body without Content-Type is JSON (docs/api.md, "Malformed input"; the gateway checks it as
# JSON): FastAPI parsed it so until its ``strict_content_type`` (on by default) came, and now only
# when that is off. The API's routes are signed or carry the session token in their path, never a
# cookie, so the stricter default's protection (a cross-site request without preflight) is not needed.
_LENIENT_CONTENT_TYPE: dict[str, Any] = (
    {"strict_content_type": False} if "strict_content_type" in inspect.signature(FastAPI.__init__).parameters else {}
)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """A new app. ``runtime`` may be given (tests); otherwise it is opened in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_format)
        opened = runtime is None
        app.state.runtime = runtime or Runtime.open(settings)
        app.state.runtime.components.setdefault("metrics", Metrics())
        _start_up(app.state.runtime)
        # Routes run in anyio's worker threads: leave room for every model instance and queued
        # request plus the database-only routes, so the pool's queue (not the thread limit) decides.
        pool = app.state.runtime.models
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, pool.size + pool.queue_size + 32)
        if settings.preload_models:
            warm_process()  # image plugins, ORM mappers, image decoding: no request pays for them
            # every model set of the pool, with every model a request may need: no request pays for
            # loading, and a damaged model file (sha256) stops start-up
            pool.warm(_load_models, count=pool.size)
        app.state.runtime.components["ready"] = True  # index loaded, models built: /v1/health/ready
        if "jobs" not in app.state.runtime.components:  # Redis answers here, or start-up fails
            app.state.runtime.components["jobs"] = open_jobs(settings, app.state.runtime)
        queue = app.state.runtime.components["jobs"]
        queue.requeue_webhooks(app.state.runtime)  # the outbox: lost enqueues
        scheduler = None
        if not settings.redis_url:  # with Redis the job worker schedules the sweeps, not each API process
            scheduler = RetentionScheduler(
                app.state.runtime.sweeper,
                settings.retention_sweep_seconds,
                before_each=lambda: queue.requeue_webhooks(app.state.runtime),  # a dead peer's lost enqueues
            )
            app.state.runtime.components["retention_scheduler"] = scheduler
            scheduler.start()
        try:
            yield
        finally:
            app.state.runtime.components["ready"] = False
            _shut_down(app.state.runtime)
            if scheduler is not None:
                scheduler.stop()
            jobs = app.state.runtime.components.pop("jobs", None)
            if jobs is not None:
                jobs.close()
            if opened:
                app.state.runtime.close()

    app = FastAPI(
        title="OpenKYC",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from package files by openkyc.api.openapi (works offline)
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
        **_LENIENT_CONTENT_TYPE,
    )
    openapi.install(app)
    if runtime is not None:
        app.state.runtime = runtime
        runtime.components.setdefault("metrics", Metrics())
    errors.install(app)
    for module in (core, rules, faces, verification, documents, sessions, privacy, usage, management):
        app.include_router(module.router)
    app.include_router(tencent_router(settings))
    app.mount("/console", build_console(lambda: app.state.runtime))  # the operators' console (no API routes)
    app.add_middleware(Gateway, runtime_of=lambda: app.state.runtime)
    return app


def create_app_from_env() -> FastAPI:
    """The app with settings from the environment: the import string ``openkyc.api.app:create_app_from_env``."""
    return create_app(Settings())


def api_routes(app: FastAPI) -> list[tuple[str, str, str]]:
    """Every (method, path, name) the app serves, through included routers (docs, tests)."""
    found: list[tuple[str, str, str]] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(list(inner.routes))
                continue
            for method in sorted(getattr(route, "methods", None) or []):
                if method not in {"HEAD", "OPTIONS"}:
                    found.append((method, str(route.path), str(getattr(route, "name", ""))))

    walk(list(app.routes))
    return found
