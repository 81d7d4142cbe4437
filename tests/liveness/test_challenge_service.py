"""ChallengeService: issue, single use (also under concurrent claims), app and session binding, expiry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.liveness.challenge import Schedule
from openkyc.liveness.service import CHALLENGE_TTL, Challenge, ChallengeService
from openkyc.privacy.sweep import run_sweep
from openkyc.store.models.liveness import LivenessChallengeRow


def _app(runtime: Any, name: str = "app") -> int:
    from openkyc.accounts import service as accounts

    with runtime.transaction() as session:
        account = accounts.create_account(session, f"{name}-account")
        app_id: int = accounts.create_app(session, account.id, name).id
    return app_id


def test_issue_returns_a_stored_schedule_that_is_claimed_once(runtime: Any) -> None:
    app_id = _app(runtime)
    service = ChallengeService(runtime.access)
    challenge = service.issue(app_id)
    assert isinstance(challenge, Challenge)
    assert len(challenge.challenge_id) >= 22
    assert timedelta(minutes=9) < challenge.expires_at - runtime.clock() <= CHALLENGE_TTL
    assert challenge.schedule["colors"] is None
    assert set(challenge.to_dict()) == {"challenge_id", "schedule", "expires_at"}
    schedule = service.claim(app_id, challenge.challenge_id)
    assert schedule == Schedule.from_dict(challenge.schedule)
    with pytest.raises(InvalidParameterValue) as info:
        service.claim(app_id, challenge.challenge_id)
    assert info.value.error_code == "InvalidParameterValue.LivenessChallengeUsed"


def test_reflection_challenges_carry_colours(runtime: Any) -> None:
    app_id = _app(runtime)
    challenge = ChallengeService(runtime.access).issue(app_id, reflection=True)
    assert challenge.schedule["colors"]
    assert challenge.schedule["colors"][-1]["end_ms"] < challenge.schedule["actions"][0]["prompt_ms"]


def test_other_apps_unknown_and_expired_challenges_are_not_found(runtime: Any) -> None:
    alice, bob = _app(runtime, "alice"), _app(runtime, "bob")
    service = ChallengeService(runtime.access)
    challenge = service.issue(alice)
    for app_id, challenge_id in ((bob, challenge.challenge_id), (alice, "no-such-challenge")):
        with pytest.raises(ResourceNotFound) as info:
            service.claim(app_id, challenge_id)
        assert info.value.error_code == "ResourceNotFound.LivenessChallenge"
    now = runtime.clock()
    runtime.clock = lambda: now + CHALLENGE_TTL + timedelta(seconds=1)
    with pytest.raises(ResourceNotFound):
        service.claim(alice, challenge.challenge_id)
    # the refusals consumed nothing; the sweep deletes it once expired
    with runtime.transaction() as session:
        assert session.get(LivenessChallengeRow, challenge.challenge_id).used_at is None  # type: ignore[union-attr]
    report = run_sweep(runtime.sweeper)
    assert report.counts.get("liveness_challenges") == 1
    with runtime.transaction() as session:
        assert session.get(LivenessChallengeRow, challenge.challenge_id) is None


def test_a_session_challenge_is_only_claimed_in_that_session(runtime: Any) -> None:
    app_id = _app(runtime)
    service = ChallengeService(runtime.access)
    bound = service.issue(app_id, session_ref="ref-1")
    free = service.issue(app_id)
    for challenge_id, ref in ((bound.challenge_id, None), (bound.challenge_id, "ref-2"), (free.challenge_id, "ref-1")):
        with pytest.raises(InvalidParameterValue) as info:
            service.claim(app_id, challenge_id, session_ref=ref)
        assert info.value.error_code == "InvalidParameterValue.LivenessChallengeSession"
    assert service.claim(app_id, bound.challenge_id, session_ref="ref-1").actions


def test_concurrent_claims_let_exactly_one_through(runtime: Any) -> None:
    app_id = _app(runtime)
    service = ChallengeService(runtime.access)
    for _ in range(3):
        challenge_id = service.issue(app_id).challenge_id

        def claim(_: int, challenge_id: str = challenge_id) -> str:
            try:
                service.claim(app_id, challenge_id)
            except InvalidParameterValue as exc:
                return exc.error_code
            return "ok"

        with ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(claim, range(6)))
        assert outcomes.count("ok") == 1, outcomes
        assert outcomes.count("InvalidParameterValue.LivenessChallengeUsed") == 5


def test_erasure_of_a_hosted_session_and_offboarding_remove_its_challenges(runtime: Any) -> None:
    from openkyc.compliance.rights import SubjectRights
    from openkyc.privacy.reach import EndUser
    from openkyc.store.subject_keys import subject_keys_of

    app_id = _app(runtime)
    service = ChallengeService(runtime.access)
    token = "biz-token-of-the-session"
    ref = subject_keys_of(runtime.access.sessions).token_ref(token)
    of_session = service.issue(app_id, session_ref=ref)
    other = service.issue(app_id, session_ref="another-session")
    free = service.issue(app_id)
    receipt = SubjectRights(runtime.access, actor="test").erase(EndUser(app_id, biz_tokens=(token,)))
    with runtime.transaction() as session:
        assert session.get(LivenessChallengeRow, of_session.challenge_id) is None
        assert session.get(LivenessChallengeRow, other.challenge_id) is not None
        assert session.get(LivenessChallengeRow, free.challenge_id) is not None
    assert "liveness_challenges" in str(receipt)
