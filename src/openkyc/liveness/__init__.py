"""Liveness detection: silent (passive), action and reflection, on short selfie videos.

Public API::

    from openkyc.liveness import LivenessChecker, LivenessResult, VideoLimits, new_sequence
"""

from openkyc.liveness.checker import LivenessChecker, LivenessConfig, LivenessResult, parse_actions
from openkyc.liveness.reflection import ReflectSequence, new_sequence
from openkyc.liveness.video import DecodedVideo, VideoLimits, decode_video

__all__ = [
    "DecodedVideo",
    "LivenessChecker",
    "LivenessConfig",
    "LivenessResult",
    "ReflectSequence",
    "VideoLimits",
    "decode_video",
    "new_sequence",
    "parse_actions",
]
