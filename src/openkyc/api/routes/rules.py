"""Verification templates (rules): create, read, change, history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from openkyc.api.deps import CallerDep, RequestIdDep, RuntimeDep, SessionDep
from openkyc.config import service
from openkyc.config.rules import RuleIn

router = APIRouter()


@router.post("/v1/rules", name="CreateRule")
def create_rule(
    body: RuleIn, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, request_id: RequestIdDep
) -> dict[str, Any]:
    rule, name = service.create_rule(session, caller.app_id, body, actor=caller.secret_id, gate=runtime.gate)
    return {**service.rule_view(rule, name), "RequestId": request_id}


@router.get("/v1/rules/{rule_id}", name="DescribeRule")
def get_rule(
    rule_id: str, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, request_id: RequestIdDep
) -> dict[str, Any]:
    rule, name = service.describe_rule(session, caller.app_id, rule_id, gate=runtime.gate)
    return {**service.rule_view(rule, name), "RequestId": request_id}


@router.put("/v1/rules/{rule_id}", name="ModifyRule")
def update_rule(
    rule_id: str, body: RuleIn, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, request_id: RequestIdDep
) -> dict[str, Any]:
    rule, name = service.update_rule(session, caller.app_id, rule_id, body, actor=caller.secret_id, gate=runtime.gate)
    return {**service.rule_view(rule, name), "RequestId": request_id}


@router.get("/v1/rules/{rule_id}/history", name="DescribeRuleHistory")
def history(
    rule_id: str, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, request_id: RequestIdDep
) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "changes": service.rule_history(session, caller.app_id, rule_id, gate=runtime.gate),
        "RequestId": request_id,
    }
