"""The background jobs themselves: plain functions of the runtime and plain values.

The same functions run in the job worker (``openkyc worker``, through Redis) and in the API
process's own background thread when no Redis is configured, so behaviour is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from openkyc.errors import SweepInProgress
from openkyc.jobs import webhooks
from openkyc.privacy import audit
from openkyc.privacy.sweep import run_sweep
from openkyc.runtime import Runtime

__all__ = ["TASKS", "deliver_webhook", "retention_sweep", "rotate_template_key"]

log = logging.getLogger("openkyc.jobs")


def retention_sweep(runtime: Runtime) -> dict[str, object] | None:
    """One retention sweep; ``None`` when another process's sweep holds the lock (skipped).

    Also enqueues again the webhook deliveries whose job was lost (the outbox), so a process that
    died between a commit and its enqueue and never came back still has its events delivered."""
    from openkyc.jobs.queue import jobs_for  # here: the queue module imports this one

    try:
        jobs_for(runtime).requeue_webhooks(runtime)
    except Exception:  # the sweep must still run
        log.exception("stale webhook deliveries could not be enqueued again")
    try:
        return run_sweep(runtime.sweeper, actor="job-worker").as_dict()
    except SweepInProgress:
        log.info("retention sweep skipped: another one is running")
        return None


def deliver_webhook(runtime: Runtime, delivery_id: str, base: int = 0, schedule: list[int] | None = None) -> int | None:
    """One delivery attempt of an outbox row, logged on the row; raises
    :class:`webhooks.WebhookFailed` so the queue retries it."""
    return webhooks.deliver(
        runtime.transaction,
        runtime.keyring,
        runtime.clock,
        delivery_id,
        base=base,
        schedule=webhooks.BACKOFF_SECONDS if schedule is None else tuple(schedule),
    )


def rotate_template_key(runtime: Runtime, app_id: int) -> dict[str, object]:
    """A new template key for the app, and re-issue of the templates whose photo is retained."""
    from openkyc.biometrics.rotation import rotate_template_key as rotate

    report = rotate(runtime.access, runtime.models, app_id, bits=runtime.settings.template_bits)
    with runtime.transaction() as session:
        audit.append(
            session, audit.AuditEvent.KEY_ROTATION, actor="job-worker", app_id=app_id, details={"key": "template"}
        )
    return report.as_dict()


TASKS: dict[str, Callable[..., Any]] = {
    "retention_sweep": retention_sweep,
    "webhook": deliver_webhook,
    "rotate_template_key": rotate_template_key,
}
