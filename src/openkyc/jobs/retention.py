"""Retention of webhook delivery attempts (registered with the sweep).

The delivery log (``webhook_deliveries``: outbox rows with attempts and status codes) is deleted
once older than the ``webhook_delivery`` period. With Redis, RQ also keeps a finished job
(its arguments: the delivery id and retry schedule) for a day and a failed one for three
(``result_ttl``/``failure_ttl`` in :mod:`openkyc.jobs.queue`); this step also deletes, by the
sweep's clock, every finished or failed webhook job that ended before the ``webhook_delivery``
cut-off, so the period holds even if the TTLs are changed. A Redis that cannot be reached is
logged and skipped: the database steps of the same sweep still run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from openkyc.privacy.steps import BATCH, SweepContext, register
from openkyc.privacy.vocabulary import RetentionKind

log = logging.getLogger("openkyc.jobs.retention")

WEBHOOK_TASK = "webhook"  # the job description RedisJobs gives a delivery


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@register(RetentionKind.WEBHOOK_DELIVERY, "webhook_deliveries")
def webhook_deliveries(ctx: SweepContext) -> int:
    from sqlalchemy import delete

    from openkyc.store.models.webhooks import WebhookDeliveryRow

    cutoff = ctx.cutoff(RetentionKind.WEBHOOK_DELIVERY)
    deleted = ctx.session.execute(  # the delivery log (outbox rows), pending ones included once this old
        delete(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    count_rows = int(getattr(deleted, "rowcount", 0) or 0)
    if not ctx.settings.redis_url:
        return count_rows  # in-process jobs keep nothing once an attempt has ended
    return count_rows + _redis_jobs(ctx)


def _redis_jobs(ctx: SweepContext) -> int:
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from openkyc.jobs.queue import QUEUE_NAME  # here: the queue module imports the sweep

    cutoff = ctx.cutoff(RetentionKind.WEBHOOK_DELIVERY)
    connection = Redis.from_url(str(ctx.settings.redis_url))
    count = 0
    try:
        queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
        for registry in (queue.failed_job_registry, queue.finished_job_registry):
            ids = registry.get_job_ids()
            for job in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer):
                if job is None or job.description != WEBHOOK_TASK:
                    continue
                ended = job.ended_at or job.enqueued_at or job.created_at
                if ended is not None and _utc(ended) < cutoff:
                    job.delete()
                    count += 1
                    if count >= BATCH:
                        return count
    except RedisError as exc:
        log.warning("webhook deliveries not swept: Redis unavailable", extra={"error": type(exc).__name__})
    finally:
        connection.close()
    return count
