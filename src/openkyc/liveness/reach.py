"""Subject rights over liveness challenges: schedules hold no personal data.

A challenge is a random schedule of actions and colours bound to an app and, for a hosted
verification, to the keyed hash of its BizToken; it lives 10 minutes. Nothing is exported. Erasure
for an end user named by hosted sessions deletes those sessions' challenges, and offboarding
deletes the apps' challenges (the app's deletion would cascade to them anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete

from openkyc.privacy.datamap import covers_of, plain_of
from openkyc.privacy.reach import REACH, ColumnUse, EndUser, Found, ReachContext, Target, WholeAccount
from openkyc.store.models.liveness import LivenessChallengeRow

__all__ = ["ChallengeReach"]


@REACH.register
class ChallengeReach:
    name = "liveness.challenges"
    order = 25
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="liveness.challenges")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("liveness.challenges")
    plain: Mapping[str, tuple[str, ...]] = plain_of("liveness.challenges")

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        return ()

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        query = delete(LivenessChallengeRow).execution_options(synchronize_session=False)
        if isinstance(target, EndUser) and target.biz_tokens:
            refs = sorted(ctx.token_refs(target.biz_tokens))  # stored hash -> token
            query = query.where(
                LivenessChallengeRow.app_id == target.app_id, LivenessChallengeRow.session_ref.in_(refs)
            )
        elif isinstance(target, WholeAccount) and target.app_ids:
            query = query.where(LivenessChallengeRow.app_id.in_(target.app_ids))
        else:
            return {}
        count = int(ctx.session.execute(query).rowcount)  # type: ignore[attr-defined]
        return {"liveness_challenges": count} if count else {}
