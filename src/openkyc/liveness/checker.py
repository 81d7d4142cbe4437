"""The liveness entry point: ``LivenessChecker.check(video, mode=...)`` -> ``LivenessResult``.

Bad input (not a video, too long, corrupt, unknown mode or action) raises an
:class:`openkyc.errors.InvalidParameterValue` subclass. A video that was understood but failed
the check returns a result with ``live=False`` and one of the codes below; ``result.error()``
turns it into a :class:`openkyc.errors.FailedOperation` (HTTP 422) for callers that raise.

Codes (stable):

=========================================  =================================================
``Success``                                live
``FailedOperation.LivessDetectFail``       silent cues say photo / screen / replay
``FailedOperation.SilentTooShort``         shorter than ``min_silent_duration_s`` (2 s)
``FailedOperation.LivessNoFace``           no face in any sampled frame
``FailedOperation.LivessFaceLost``         face missing from too many frames
``FailedOperation.LivessMultiFaces``       a second face of comparable size
``FailedOperation.LivessFaceChanged``      the face changed identity mid-video
``FailedOperation.LivessFaceTooSmall``     face narrower than 60 px in the sampled frames
``FailedOperation.ActionCloseEye``         blink not seen (in order)
``FailedOperation.ActionOpenMouth``        open mouth not seen (in order)
``FailedOperation.ActionNodHead``          nod not seen (in order)
``FailedOperation.ActionShakeHead``        shake not seen (in order)
``FailedOperation.LivessReflectFail``      face did not reflect the colour sequence
``FailedOperation.ActionTooEarly``         challenge: an action started before its prompt
``FailedOperation.ChallengeTooShort``      challenge: the video ends before the schedule
=========================================  =================================================

Challenge mode (``mode="challenge"`` with a :class:`~openkyc.liveness.challenge.Schedule`) samples
at ``challenge_sample_fps``, finds every action event with its onset
(:mod:`openkyc.liveness.events`), and judges the schedule
(:func:`~openkyc.liveness.challenge.verify_schedule`): each action must start inside its window and
not before its prompt, the colours (if any) must be on the face at their times, and the face must be
there throughout. The silent cues' score must reach ``ChallengeConfig.min_silent_score`` (a floor
above silent mode's own threshold, which stops photos; replays of live recordings the schedule stops).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from statistics import median
from typing import Literal

from openkyc.biometrics.types import BoundingBox, FaceDetector, FaceEmbedder
from openkyc.errors import FailedOperation, InvalidParameterValue, MissingParameter
from openkyc.liveness.action import ACTION_CODES, ACTIONS, ActionConfig, check_actions
from openkyc.liveness.challenge import ChallengeConfig, Schedule, colour_correlation, verify_schedule
from openkyc.liveness.events import EventConfig, track_events
from openkyc.liveness.reflection import ReflectionConfig, ReflectSequence, face_chroma, reflection_evidence
from openkyc.liveness.silent import SilentConfig, silent_evidence
from openkyc.liveness.track import FaceTrack, TrackConfig, build_track
from openkyc.liveness.video import VideoLimits, decode_video

SUCCESS = "Success"
DETECT_FAIL = "FailedOperation.LivessDetectFail"
SILENT_TOO_SHORT = "FailedOperation.SilentTooShort"
REFLECT_FAIL = "FailedOperation.LivessReflectFail"
Mode = Literal["silent", "action", "reflection", "challenge"]
MODES: tuple[str, ...] = ("silent", "action", "reflection", "challenge")


@dataclass(frozen=True)
class LivenessResult:
    """The decision, its evidence and the best frame (JPEG bytes, personal data: not in repr)."""

    live: bool
    score: float
    code: str
    mode: str
    evidence: dict[str, object] = field(default_factory=dict)
    best_frame: bytes | None = field(default=None, repr=False)
    best_box: BoundingBox | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, without the best frame (add it base64-encoded where needed)."""
        return {
            "live": self.live,
            "score": round(self.score, 2),
            "code": self.code,
            "mode": self.mode,
            "evidence": self.evidence,
            "best_frame_box": self.best_box.as_list() if self.best_box else None,
        }

    def error(self) -> FailedOperation | None:
        """A ``FailedOperation`` carrying ``code`` when not live, else ``None``."""
        if self.live:
            return None
        return FailedOperation("The liveness check failed.", code=self.code)


@dataclass(frozen=True)
class LivenessConfig:
    limits: VideoLimits = field(default_factory=VideoLimits)
    track: TrackConfig = field(default_factory=TrackConfig)
    silent: SilentConfig = field(default_factory=SilentConfig)
    action: ActionConfig = field(default_factory=ActionConfig)
    reflection: ReflectionConfig = field(default_factory=ReflectionConfig)
    action_sample_fps: float = 15.0
    challenge: ChallengeConfig = field(default_factory=ChallengeConfig)
    events: EventConfig = field(default_factory=EventConfig)
    challenge_sample_fps: float = 15.0
    challenge_max_frames: int = 180


def parse_actions(actions: Sequence[str] | str | None) -> list[str]:
    """Validate 1-2 actions from ``blink, mouth, nod, shake`` (list or comma-separated)."""
    if actions is None:
        raise MissingParameter("Action mode needs one or two actions.")
    items = [a.strip().lower() for a in (actions.split(",") if isinstance(actions, str) else actions)]
    items = [a for a in items if a]
    if not 1 <= len(items) <= 2 or any(a not in ACTIONS for a in items):
        raise InvalidParameterValue(
            "actions must be one or two of blink, mouth, nod, shake.",
            code="InvalidParameterValue.LivenessActions",
        )
    return items


def challenge_limits(limits: VideoLimits, config: LivenessConfig) -> VideoLimits:
    """``limits`` with challenge mode's sampling (15 fps, up to 180 frames)."""
    return replace(
        limits,
        sample_fps=max(limits.sample_fps, config.challenge_sample_fps),
        max_frames=max(limits.max_frames, config.challenge_max_frames),
    )


class LivenessChecker:
    """Runs the checks with an injected detector (and optional embedder for identity changes)."""

    def __init__(
        self,
        detector: FaceDetector,
        *,
        embedder: FaceEmbedder | None = None,
        config: LivenessConfig | None = None,
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.config = config or LivenessConfig()

    def check(
        self,
        video: bytes,
        *,
        mode: Mode = "silent",
        actions: Sequence[str] | None = None,
        sequence: ReflectSequence | None = None,
        limits: VideoLimits | None = None,
        schedule: Schedule | None = None,
    ) -> LivenessResult:
        if mode not in MODES:
            raise InvalidParameterValue(
                "mode must be silent, action, reflection or challenge.", code="InvalidParameterValue.LivenessMode"
            )
        if mode == "challenge" and schedule is None:
            raise MissingParameter("Challenge mode needs the challenge schedule.")
        wanted = parse_actions(actions) if mode == "action" else []
        if mode == "reflection" and sequence is None:
            raise MissingParameter("Reflection mode needs the colour sequence.")
        lim = limits or self.config.limits
        if mode == "challenge":
            lim = challenge_limits(lim, self.config)
        elif mode != "silent":
            lim = replace(lim, sample_fps=max(lim.sample_fps, self.config.action_sample_fps))
        decoded = decode_video(video, lim)
        evidence: dict[str, object] = {
            "duration_s": round(decoded.duration_s, 3),
            "frames": len(decoded.frames),
        }
        if mode == "silent" and decoded.duration_s < lim.min_silent_duration_s:
            return LivenessResult(False, 0.0, SILENT_TOO_SHORT, mode, evidence)
        track_cfg = self.config.track
        if mode == "reflection" or (mode == "challenge" and schedule is not None and schedule.colors):
            track_cfg = replace(track_cfg, min_hist_corr=-1.0)
        try:
            track = build_track(decoded.frames, self.detector, embedder=self.embedder, config=track_cfg)
        except FailedOperation as exc:
            return LivenessResult(False, 0.0, exc.error_code, mode, evidence)
        if mode == "challenge" and schedule is not None:
            return self._challenge(track, schedule, decoded.duration_s, evidence)
        return self._decide(track, mode, wanted, sequence, evidence)

    def _challenge(
        self, track: FaceTrack, schedule: Schedule, duration_s: float, evidence: dict[str, object]
    ) -> LivenessResult:
        cfg = self.config
        events = track_events(track, cfg.events)
        correlation: float | None = None
        if schedule.colors:
            observed = [face_chroma(track.image(f), f).tolist() for f in track.faces]
            times = [f.time_s * 1000.0 for f in track.faces]
            correlation, offset = colour_correlation(observed, times, schedule.colors, cfg.challenge)
            evidence["colour_offset_ms"] = offset
        silent = silent_evidence(track, replace(cfg.silent, flicker_max=None))  # the page may flash colours
        verdict = verify_schedule(
            schedule,
            events,
            duration_ms=duration_s * 1000.0,
            face_times_ms=[f.time_s * 1000.0 for f in track.faces],
            colour_correlation=correlation,
            silent_score=silent.score,
            config=cfg.challenge,
        )
        evidence["challenge"] = verdict.to_dict()
        evidence["events"] = [e.to_dict() for e in events]
        evidence["silent"] = silent.to_dict()
        best = track.best_face
        evidence["best_frame_time_s"] = round(best.time_s, 3)
        checks = [silent.score >= cfg.challenge.min_silent_score, *(v.ok for v in verdict.actions)]
        if schedule.colors:
            checks.append(correlation is not None and correlation >= cfg.challenge.min_colour_correlation)
        score = (
            100.0 * sum(checks) / max(len(checks), 1)
            if verdict.code not in ("FailedOperation.ChallengeTooShort", "FailedOperation.LivessFaceLost")
            else 0.0
        )
        return LivenessResult(verdict.live, score, verdict.code, "challenge", evidence, track.best_jpeg, best.face.box)

    def _decide(
        self,
        track: FaceTrack,
        mode: str,
        actions: list[str],
        sequence: ReflectSequence | None,
        evidence: dict[str, object],
    ) -> LivenessResult:
        best = track.best_face
        silent_cfg = self.config.silent
        if mode == "reflection":  # the page flashes colours onto the face: a shared brightness change
            silent_cfg = replace(silent_cfg, flicker_max=None)
        silent = silent_evidence(track, silent_cfg)
        evidence["silent"] = silent.to_dict()
        evidence["best_frame_time_s"] = round(best.time_s, 3)
        evidence["face_width_px"] = round(float(median(t.face.box.w for t in track.faces)), 1)
        score, live, code = silent.score, silent.live, SUCCESS if silent.live else DETECT_FAIL
        if mode == "action" and live:
            found = check_actions(track, actions, self.config.action)
            evidence["actions"] = [a.to_dict() for a in found]
            missing = next((a for a in found if not a.seen), None)
            if missing is not None:
                live, code = False, ACTION_CODES[missing.action]
        elif mode == "reflection" and live and sequence is not None:
            refl = reflection_evidence(track, sequence, self.config.reflection)
            evidence["reflection"] = refl.to_dict()
            if not refl.live:
                live, code = False, REFLECT_FAIL
            score = min(score, 100.0 * max(0.0, refl.correlation))
        return LivenessResult(live, score, code, mode, evidence, track.best_jpeg, best.face.box)
