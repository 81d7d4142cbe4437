"""Answers of face detection, 1:1 compare, collections, subjects and 1:N search."""

from __future__ import annotations

from pydantic import Field

from openkyc.api.schemas.common import Answer, Page, Strict

Point = list[float]


class Quality(Strict):
    ok: bool = Field(description="No quality issue was found.")
    issues: list[str]
    face_size: float
    sharpness: float
    brightness: float
    yaw: float
    pitch: float
    roll: float
    inside_image: float


class Keypoints(Strict):
    right_eye: Point
    left_eye: Point
    nose: Point
    mouth_right: Point
    mouth_left: Point


class DetectedFace(Strict):
    box: list[float] = Field(description="[x, y, w, h] in pixels.")
    keypoints: Keypoints
    score: float
    quality: Quality


class DetectFaceAnswer(Answer):
    width: int
    height: int
    face_count: int
    faces: list[DetectedFace]


class CompareFaceAnswer(Answer):
    sim: float
    match: bool
    threshold: float


class CollectionAnswer(Answer):
    collection_id: str
    name: str
    duplicate_check: bool
    embedder: str


class CollectionSummary(Strict):
    collection_id: str
    name: str
    duplicate_check: bool
    embedder: str
    subject_count: int
    created_at: str


class DescribeCollectionAnswer(CollectionSummary, Answer):
    pass


class CollectionsPage(Page):
    collections: list[CollectionSummary]


class DeleteCollectionAnswer(Answer):
    collection_id: str
    deleted: bool
    subjects_deleted: int


class SubjectAnswer(Answer):
    collection_id: str
    subject_id: str
    quality: Quality
    image_retained_until: str | None


class ReplacePhotoAnswer(SubjectAnswer):
    replaced: bool


class DeleteSubjectAnswer(Answer):
    collection_id: str
    subject_id: str
    deleted: bool


class SubjectSummary(Strict):
    subject_id: str
    collection_id: str
    enrolled_at: str
    template_version: int
    key_id: str
    has_identification: bool
    image_retained: bool


class SubjectsPage(Page):
    subjects: list[SubjectSummary]


class SearchMatch(Strict):
    subject_id: str
    sim: float
    match: bool = Field(description="Whether sim reaches the threshold.")


class SearchResult(Strict):
    matches: list[SearchMatch]


class SearchAnswer(Answer):
    collection_id: str
    threshold: float
    matches: list[SearchMatch] | None = Field(default=None, description="For one image: its nearest subjects.")
    results: list[SearchResult] | None = Field(default=None, description="For images: one result each, in order.")
