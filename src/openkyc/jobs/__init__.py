"""Background work: webhook delivery, retention sweeps, template-key rotation.

Services call :func:`jobs_for` (the runtime's :class:`Jobs`) and one of its ``enqueue_*`` /
``notify_result`` methods. With ``OPENKYC_REDIS_URL`` set the jobs go to an RQ queue in Redis and
``openkyc worker`` runs them; without it (the embedded default) a background thread of the same
process runs the same functions (:mod:`openkyc.jobs.tasks`).
"""

from openkyc.jobs.queue import Jobs, LocalJobs, RedisJobs, jobs_for, open_jobs
from openkyc.jobs.webhooks import result_payload, session_payload, webhook_secret

__all__ = [
    "Jobs",
    "LocalJobs",
    "RedisJobs",
    "jobs_for",
    "open_jobs",
    "result_payload",
    "session_payload",
    "webhook_secret",
]
