"""One typed method per operation of the OpenAPI document (its ``operationId`` in snake_case).

``OPERATIONS`` names each method's operation, HTTP method and path; ``tests/client`` checks it
against the served OpenAPI document (every operation has a method, every body field and query
parameter a keyword of the same name), so client and server cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

T = TypeVar("T")  # dict[str, Any] for Client, Awaitable[dict[str, Any]] for AsyncClient
R = TypeVar("R")  # bytes, or Awaitable[bytes]

Json = dict[str, Any]
Mode = Literal["silent", "action", "reflection"]

# method name: (operationId, HTTP method, path template)
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "health": ("Health", "GET", "/v1/health"),
    "describe_account": ("DescribeAccount", "GET", "/v1/account"),
    "describe_request": ("DescribeRequest", "GET", "/v1/requests/{request_id}"),
    "create_rule": ("CreateRule", "POST", "/v1/rules"),
    "describe_rule": ("DescribeRule", "GET", "/v1/rules/{rule_id}"),
    "modify_rule": ("ModifyRule", "PUT", "/v1/rules/{rule_id}"),
    "describe_rule_history": ("DescribeRuleHistory", "GET", "/v1/rules/{rule_id}/history"),
    "detect_face": ("DetectFace", "POST", "/v1/faces/detect"),
    "compare_face": ("CompareFace", "POST", "/v1/faces/compare"),
    "create_collection": ("CreateCollection", "POST", "/v1/collections"),
    "describe_collection": ("DescribeCollection", "GET", "/v1/collections/{collection_id}"),
    "create_subject": ("CreateSubject", "POST", "/v1/collections/{collection_id}/subjects"),
    "search_faces": ("SearchFaces", "POST", "/v1/collections/{collection_id}/search"),
    "delete_subject": ("DeleteSubject", "DELETE", "/v1/collections/{collection_id}/subjects/{subject_id}"),
    "create_reflect_sequence": ("CreateReflectSequence", "POST", "/v1/liveness/reflect-sequences"),
    "detect_liveness": ("DetectLiveness", "POST", "/v1/liveness"),
    "verify_selfie": ("VerifySelfie", "POST", "/v1/verifications/selfie"),
    "describe_verification": ("DescribeVerification", "GET", "/v1/verifications/{verification_id}"),
    "recognize_document": ("RecognizeDocument", "POST", "/v1/documents/ocr"),
    "verify_identity": ("VerifyIdentity", "POST", "/v1/verifications/identity"),
    "create_session": ("CreateSession", "POST", "/v1/sessions"),
    "describe_session_result": ("DescribeSessionResult", "GET", "/v1/sessions/{biz_token}/result"),
    "verification_page": ("VerificationPage", "GET", "/verify/{biz_token}"),
    "create_session_reflect_sequence": ("CreateSessionReflectSequence", "POST", "/verify/{biz_token}/sequence"),
    "submit_session_video": ("SubmitSessionVideo", "POST", "/verify/{biz_token}/submit"),
    "record_consent": ("RecordConsent", "POST", "/v1/privacy/consents"),
    "withdraw_consent": ("WithdrawConsent", "POST", "/v1/privacy/consents/withdraw"),
    "add_improvement_sample": ("AddImprovementSample", "POST", "/v1/improvement/samples"),
    "describe_subject_data": ("DescribeSubjectData", "GET", "/v1/privacy/subjects/{subject_id}"),
    "download_subject_data": ("DownloadSubjectData", "GET", "/v1/privacy/subjects/{subject_id}/export.zip"),
    "erase_subject": ("EraseSubject", "POST", "/v1/privacy/subjects/{subject_id}/erase"),
    "describe_session_data": ("DescribeSessionData", "GET", "/v1/privacy/sessions/{biz_token}"),
    "erase_session_data": ("EraseSessionData", "POST", "/v1/privacy/sessions/{biz_token}/erase"),
    "describe_record_of_processing": ("DescribeRecordOfProcessing", "GET", "/v1/privacy/ropa"),
    "describe_usage": ("DescribeUsage", "GET", "/v1/usage"),
    "describe_bill": ("DescribeBill", "GET", "/v1/bills/{month}"),
    "tencent_action": ("TencentAction", "POST", "/"),
    "readiness": ("Readiness", "GET", "/v1/health/ready"),
    "create_liveness_challenge": ("CreateLivenessChallenge", "POST", "/v1/liveness/challenges"),
    "answer_session_notice": ("AnswerSessionNotice", "POST", "/verify/{biz_token}/notice"),
    "create_session_challenge": ("CreateSessionChallenge", "POST", "/verify/{biz_token}/challenge"),
    "check_session_document": ("CheckSessionDocument", "POST", "/verify/{biz_token}/document"),
    # management (operators): paged lists (limit, cursor) and administrative changes
    "list_apps": ("ListApps", "GET", "/v1/apps"),
    "create_app": ("CreateApp", "POST", "/v1/apps"),
    "disable_app": ("DisableApp", "POST", "/v1/apps/{app_id}/disable"),
    "enable_app": ("EnableApp", "POST", "/v1/apps/{app_id}/enable"),
    "list_credentials": ("ListCredentials", "GET", "/v1/credentials"),
    "create_credential": ("CreateCredential", "POST", "/v1/credentials"),
    "rotate_credential": ("RotateCredential", "POST", "/v1/credentials/{secret_id}/rotate"),
    "disable_credential": ("DisableCredential", "POST", "/v1/credentials/{secret_id}/disable"),
    "list_users": ("ListUsers", "GET", "/v1/users"),
    "list_rules": ("ListRules", "GET", "/v1/rules"),
    "list_collections": ("ListCollections", "GET", "/v1/collections"),
    "delete_collection": ("DeleteCollection", "DELETE", "/v1/collections/{collection_id}"),
    "list_subjects": ("ListSubjects", "GET", "/v1/collections/{collection_id}/subjects"),
    "replace_subject_photo": (
        "ReplaceSubjectPhoto",
        "PUT",
        "/v1/collections/{collection_id}/subjects/{subject_id}/photo",
    ),
    "list_verifications": ("ListVerifications", "GET", "/v1/verifications"),
    "list_sessions": ("ListSessions", "GET", "/v1/sessions"),
    "list_audit_records": ("ListAuditRecords", "GET", "/v1/audit-log"),
    "list_webhook_deliveries": ("ListWebhookDeliveries", "GET", "/v1/webhooks/deliveries"),
    "redeliver_webhook": ("RedeliverWebhook", "POST", "/v1/webhooks/deliveries/{delivery_id}/redeliver"),
}


def _p(value: str) -> str:
    return quote(value, safe="")


def _body(**fields: Any) -> Json:
    return {name: value for name, value in fields.items() if value is not None}


class Operations(Generic[T, R]):
    """The operations; ``_call`` (JSON answers) and ``_call_raw`` (bytes) are the transport's."""

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        service: str = "openkyc",
    ) -> T:
        raise NotImplementedError

    def _call_raw(self, method: str, path: str, *, query: dict[str, Any] | None = None) -> R:
        raise NotImplementedError

    # --- service and account ------------------------------------------------------------------
    def health(self) -> T:
        return self._call("GET", "/v1/health")

    def describe_account(self) -> T:
        return self._call("GET", "/v1/account")

    def describe_request(self, request_id: str) -> T:
        return self._call("GET", f"/v1/requests/{_p(request_id)}")

    # --- rules ------------------------------------------------------------------------------
    def create_rule(self, name: str, config: Json | None = None, *, idempotency_key: str | None = None) -> T:
        return self._call("POST", "/v1/rules", _body(name=name, config=config), idempotency_key=idempotency_key)

    def describe_rule(self, rule_id: str) -> T:
        return self._call("GET", f"/v1/rules/{_p(rule_id)}")

    def modify_rule(
        self, rule_id: str, name: str, config: Json | None = None, *, idempotency_key: str | None = None
    ) -> T:
        body = _body(name=name, config=config)
        return self._call("PUT", f"/v1/rules/{_p(rule_id)}", body, idempotency_key=idempotency_key)

    def describe_rule_history(self, rule_id: str) -> T:
        return self._call("GET", f"/v1/rules/{_p(rule_id)}/history")

    # --- faces and collections ----------------------------------------------------------------
    def detect_face(self, image: str) -> T:
        return self._call("POST", "/v1/faces/detect", {"image": image})

    def compare_face(self, image_a: str, image_b: str, rule_id: str | None = None) -> T:
        return self._call("POST", "/v1/faces/compare", _body(image_a=image_a, image_b=image_b, rule_id=rule_id))

    def create_collection(
        self,
        name: str,
        duplicate_check: bool | None = None,
        embedder: str | None = None,
        rule_id: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> T:
        body = _body(name=name, duplicate_check=duplicate_check, embedder=embedder, rule_id=rule_id)
        return self._call("POST", "/v1/collections", body, idempotency_key=idempotency_key)

    def describe_collection(self, collection_id: str) -> T:
        return self._call("GET", f"/v1/collections/{_p(collection_id)}")

    def create_subject(
        self,
        collection_id: str,
        subject_id: str,
        image: str,
        identification: Json | None = None,
        retain_image: bool | None = None,
        rule_id: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> T:
        body = _body(
            subject_id=subject_id,
            image=image,
            identification=identification,
            retain_image=retain_image,
            rule_id=rule_id,
        )
        return self._call(
            "POST", f"/v1/collections/{_p(collection_id)}/subjects", body, idempotency_key=idempotency_key
        )

    def search_faces(
        self,
        collection_id: str,
        image: str | None = None,
        top_k: int | None = None,
        rule_id: str | None = None,
        images: Sequence[str] | None = None,
    ) -> T:
        """One probe (``image``) or a batch (``images``, answered as ``results``)."""
        body = _body(image=image, top_k=top_k, rule_id=rule_id, images=list(images) if images is not None else None)
        return self._call("POST", f"/v1/collections/{_p(collection_id)}/search", body)

    def delete_subject(self, collection_id: str, subject_id: str) -> T:
        return self._call("DELETE", f"/v1/collections/{_p(collection_id)}/subjects/{_p(subject_id)}")

    # --- liveness and verification ------------------------------------------------------------
    def create_reflect_sequence(self) -> T:
        return self._call("POST", "/v1/liveness/reflect-sequences")

    def detect_liveness(
        self,
        video: str,
        mode: Mode | None = None,
        actions: Sequence[str] | None = None,
        reflect_sequence_id: str | None = None,
        rule_id: str | None = None,
        subject_id: str | None = None,
        challenge_id: str | None = None,
    ) -> T:
        body = _body(
            video=video,
            mode=mode,
            actions=list(actions) if actions is not None else None,
            reflect_sequence_id=reflect_sequence_id,
            rule_id=rule_id,
            subject_id=subject_id,
            challenge_id=challenge_id,
        )
        return self._call("POST", "/v1/liveness", body)

    def verify_selfie(
        self,
        video: str,
        image: str,
        mode: Mode | None = None,
        actions: Sequence[str] | None = None,
        reflect_sequence_id: str | None = None,
        rule_id: str | None = None,
        subject_id: str | None = None,
        challenge_id: str | None = None,
    ) -> T:
        body = _body(
            video=video,
            image=image,
            mode=mode,
            actions=list(actions) if actions is not None else None,
            reflect_sequence_id=reflect_sequence_id,
            rule_id=rule_id,
            subject_id=subject_id,
            challenge_id=challenge_id,
        )
        return self._call("POST", "/v1/verifications/selfie", body)

    def describe_verification(self, verification_id: str) -> T:
        return self._call("GET", f"/v1/verifications/{_p(verification_id)}")

    def recognize_document(self, image: str, rule_id: str | None = None) -> T:
        return self._call("POST", "/v1/documents/ocr", _body(image=image, rule_id=rule_id))

    def verify_identity(
        self,
        document_image: str,
        video: str,
        mode: Mode | None = None,
        actions: Sequence[str] | None = None,
        reflect_sequence_id: str | None = None,
        rule_id: str | None = None,
        subject_id: str | None = None,
        challenge_id: str | None = None,
        document_back_image: str | None = None,
    ) -> T:
        body = _body(
            document_image=document_image,
            document_back_image=document_back_image,
            video=video,
            mode=mode,
            actions=list(actions) if actions is not None else None,
            reflect_sequence_id=reflect_sequence_id,
            rule_id=rule_id,
            subject_id=subject_id,
            challenge_id=challenge_id,
        )
        return self._call("POST", "/v1/verifications/identity", body)

    # --- hosted sessions ----------------------------------------------------------------------
    def create_session(
        self,
        redirect_url: str,
        rule_id: str | None = None,
        compare_image: str | None = None,
        extra: str | None = None,
        check_mode: str | None = None,
        language: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> T:
        body = _body(
            redirect_url=redirect_url,
            rule_id=rule_id,
            compare_image=compare_image,
            extra=extra,
            check_mode=check_mode,
            language=language,
        )
        return self._call("POST", "/v1/sessions", body, idempotency_key=idempotency_key)

    def describe_session_result(self, biz_token: str) -> T:
        return self._call("GET", f"/v1/sessions/{_p(biz_token)}/result")

    def verification_page(self, biz_token: str) -> R:
        """The end user's page (HTML bytes; the token is its only credential)."""
        return self._call_raw("GET", f"/verify/{_p(biz_token)}")

    def create_session_reflect_sequence(self, biz_token: str) -> T:
        return self._call("POST", f"/verify/{_p(biz_token)}/sequence")

    def submit_session_video(
        self,
        biz_token: str,
        video: str | None = None,
        reflect_sequence_id: str | None = None,
        document_image: str | None = None,
        attempt_id: str | None = None,
        challenge_id: str | None = None,
        document_back_image: str | None = None,
    ) -> T:
        body = _body(
            video=video,
            reflect_sequence_id=reflect_sequence_id,
            document_image=document_image,
            document_back_image=document_back_image,
            attempt_id=attempt_id,
            challenge_id=challenge_id,
        )
        return self._call("POST", f"/verify/{_p(biz_token)}/submit", body)

    # --- privacy ------------------------------------------------------------------------------
    def record_consent(self, subject_id: str, text_version: str, purpose: str | None = None) -> T:
        body = _body(subject_id=subject_id, purpose=purpose, text_version=text_version)
        return self._call("POST", "/v1/privacy/consents", body)

    def withdraw_consent(self, subject_id: str, purpose: str | None = None) -> T:
        return self._call("POST", "/v1/privacy/consents/withdraw", _body(subject_id=subject_id, purpose=purpose))

    def add_improvement_sample(self, subject_id: str, image: str, dataset: str | None = None) -> T:
        body = _body(subject_id=subject_id, image=image, dataset=dataset)
        return self._call("POST", "/v1/improvement/samples", body)

    def describe_subject_data(
        self, subject_id: str, biz_token: Sequence[str] | None = None, format: Literal["json"] = "json"
    ) -> T:
        """Everything held about the subject (JSON; ``download_subject_data`` for the ZIP archive)."""
        query: dict[str, Any] = {"format": format, "biz_token": list(biz_token) if biz_token else None}
        return self._call("GET", f"/v1/privacy/subjects/{_p(subject_id)}", query=query)

    def download_subject_data(self, subject_id: str, biz_token: Sequence[str] | None = None) -> R:
        """The subject's export as a ZIP archive (bytes)."""
        query = {"biz_token": list(biz_token)} if biz_token else None
        return self._call_raw("GET", f"/v1/privacy/subjects/{_p(subject_id)}/export.zip", query=query)

    def erase_subject(self, subject_id: str, biz_tokens: Sequence[str] | None = None) -> T:
        body = {"biz_tokens": list(biz_tokens)} if biz_tokens else None
        return self._call("POST", f"/v1/privacy/subjects/{_p(subject_id)}/erase", body)

    def describe_session_data(self, biz_token: str, format: Literal["json"] = "json") -> T:
        return self._call("GET", f"/v1/privacy/sessions/{_p(biz_token)}", query={"format": format})

    def erase_session_data(self, biz_token: str) -> T:
        return self._call("POST", f"/v1/privacy/sessions/{_p(biz_token)}/erase")

    def describe_record_of_processing(self, format: Literal["json"] = "json") -> T:
        """The record of processing as JSON (``download_record_of_processing`` for Markdown or HTML)."""
        return self._call("GET", "/v1/privacy/ropa", query={"format": format})

    def download_record_of_processing(self, format: Literal["md", "html"] = "md") -> R:
        return self._call_raw("GET", "/v1/privacy/ropa", query={"format": format})

    # --- usage --------------------------------------------------------------------------------
    def describe_usage(self, from_: str | None = None, to: str | None = None) -> T:
        """Calls per action between ``from_`` and ``to`` (ISO dates; sent as ``from`` and ``to``)."""
        return self._call("GET", "/v1/usage", query={"from": from_, "to": to})

    def describe_bill(self, month: str, format: Literal["json"] = "json") -> T:
        """The month's bill (``YYYY-MM``) as JSON (``download_bill`` for CSV)."""
        return self._call("GET", f"/v1/bills/{_p(month)}", query={"format": format})

    def download_bill(self, month: str, format: Literal["csv"] = "csv") -> R:
        return self._call_raw("GET", f"/v1/bills/{_p(month)}", query={"format": format})

    # --- added by later branches: readiness, timed challenges, the hosted page's notice -----------
    def readiness(self) -> T:
        return self._call("GET", "/v1/health/ready")

    def create_liveness_challenge(self, reflection: bool | None = None) -> T:
        return self._call("POST", "/v1/liveness/challenges", _body(reflection=reflection))

    def answer_session_notice(self, biz_token: str, agree: bool, silent: bool | None = None) -> T:
        return self._call("POST", f"/verify/{_p(biz_token)}/notice", _body(agree=agree, silent=silent))

    def create_session_challenge(self, biz_token: str) -> T:
        return self._call("POST", f"/verify/{_p(biz_token)}/challenge")

    def check_session_document(self, biz_token: str, document_image: str) -> T:
        return self._call("POST", f"/verify/{_p(biz_token)}/document", _body(document_image=document_image))

    # --- management (operators) ---------------------------------------------------------------
    # Lists answer newest first with ``next_cursor`` (``None`` on the last page): pass it as ``cursor``.
    def list_apps(self, limit: int | None = None, cursor: str | None = None, disabled: bool | None = None) -> T:
        flag = None if disabled is None else ("true" if disabled else "false")
        return self._call("GET", "/v1/apps", query={"limit": limit, "cursor": cursor, "disabled": flag})

    def create_app(self, name: str) -> T:
        """A new app of the account and its first credential (``secret_key`` shown this once)."""
        return self._call("POST", "/v1/apps", {"name": name})

    def disable_app(self, app_id: int) -> T:
        return self._call("POST", f"/v1/apps/{int(app_id)}/disable")

    def enable_app(self, app_id: int) -> T:
        return self._call("POST", f"/v1/apps/{int(app_id)}/enable")

    def list_credentials(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        status: Literal["active", "disabled"] | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "status": status}
        return self._call("GET", "/v1/credentials", query=query)

    def create_credential(self, app_id: int | None = None) -> T:
        return self._call("POST", "/v1/credentials", _body(app_id=app_id))

    def rotate_credential(self, secret_id: str, keep_old: bool | None = None) -> T:
        """A new credential (``secret_key`` shown once); the old one disabled unless ``keep_old``."""
        return self._call("POST", f"/v1/credentials/{_p(secret_id)}/rotate", _body(keep_old=keep_old))

    def disable_credential(self, secret_id: str) -> T:
        return self._call("POST", f"/v1/credentials/{_p(secret_id)}/disable")

    def list_users(self, limit: int | None = None, cursor: str | None = None, role: str | None = None) -> T:
        return self._call("GET", "/v1/users", query={"limit": limit, "cursor": cursor, "role": role})

    def list_rules(
        self, app_id: int | None = None, limit: int | None = None, cursor: str | None = None, name: str | None = None
    ) -> T:
        return self._call("GET", "/v1/rules", query={"app_id": app_id, "limit": limit, "cursor": cursor, "name": name})

    def list_collections(
        self, app_id: int | None = None, limit: int | None = None, cursor: str | None = None, name: str | None = None
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "name": name}
        return self._call("GET", "/v1/collections", query=query)

    def delete_collection(self, collection_id: str) -> T:
        return self._call("DELETE", f"/v1/collections/{_p(collection_id)}")

    def list_subjects(self, collection_id: str, limit: int | None = None, cursor: str | None = None) -> T:
        path = f"/v1/collections/{_p(collection_id)}/subjects"
        return self._call("GET", path, query={"limit": limit, "cursor": cursor})

    def replace_subject_photo(
        self,
        collection_id: str,
        subject_id: str,
        image: str,
        retain_image: bool | None = None,
        rule_id: str | None = None,
    ) -> T:
        path = f"/v1/collections/{_p(collection_id)}/subjects/{_p(subject_id)}/photo"
        return self._call("PUT", path, _body(image=image, retain_image=retain_image, rule_id=rule_id))

    def list_verifications(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        kind: Literal["selfie", "identity", "liveness"] | None = None,
        result: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> T:
        """Redacted results; ``since`` (inclusive) and ``until`` (exclusive) are ISO times, UTC without an offset."""
        query = {
            "app_id": app_id,
            "limit": limit,
            "cursor": cursor,
            "kind": kind,
            "result": result,
            "since": since,
            "until": until,
        }
        return self._call("GET", "/v1/verifications", query=query)

    def list_sessions(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        state: Literal["created", "completed"] | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "state": state}
        return self._call("GET", "/v1/sessions", query=query)

    def list_audit_records(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        event_type: str | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "event_type": event_type}
        return self._call("GET", "/v1/audit-log", query=query)

    def list_webhook_deliveries(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        state: Literal["pending", "delivered", "failed"] | None = None,
        event: Literal["verification.result", "session.finished"] | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "state": state, "event": event}
        return self._call("GET", "/v1/webhooks/deliveries", query=query)

    def redeliver_webhook(self, delivery_id: str) -> T:
        return self._call("POST", f"/v1/webhooks/deliveries/{_p(delivery_id)}/redeliver")

    # --- Tencent-compatible endpoint ----------------------------------------------------------
    def tencent_action(self, action: str, params: Json, *, service: Literal["faceid", "ocr"] = "faceid") -> T:
        """A Tencent Cloud compatible action at ``POST /`` (answer: the ``Response`` object)."""
        version = "2018-11-19" if service == "ocr" else "2018-03-01"
        headers = {"X-TC-Action": action, "X-TC-Version": version}
        return self._call("POST", "/", params, headers=headers, service=service)
