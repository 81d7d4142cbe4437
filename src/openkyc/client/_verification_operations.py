"""The operations on faces and identities: detection and compare, collections and 1:N search,
liveness (reflect sequences, timed challenges), selfie and identity verification, documents, and
hosted sessions with the hosted page's own calls."""

from __future__ import annotations

from collections.abc import Sequence

from openkyc.client._operations_base import Json, Mode, OperationsBase, R, T
from openkyc.client._operations_base import body as _body
from openkyc.client._operations_base import path_part as _p


class VerificationOperations(OperationsBase[T, R]):
    """Faces, collections, liveness, verifications, documents and hosted sessions."""

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

    def create_liveness_challenge(self, reflection: bool | None = None) -> T:
        return self._call("POST", "/v1/liveness/challenges", _body(reflection=reflection))

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

    def answer_session_notice(self, biz_token: str, agree: bool, silent: bool | None = None) -> T:
        return self._call("POST", f"/verify/{_p(biz_token)}/notice", _body(agree=agree, silent=silent))

    def create_session_challenge(self, biz_token: str) -> T:
        return self._call("POST", f"/verify/{_p(biz_token)}/challenge")

    def check_session_document(self, biz_token: str, document_image: str) -> T:
        return self._call("POST", f"/verify/{_p(biz_token)}/document", _body(document_image=document_image))
