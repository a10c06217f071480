"""A provider's declared limits: the ``conformance_profile`` attribute.

A real API may reject a parameter for some models, so a provider may declare what it
deliberately does not do. A declaration never excuses silently: it turns the check into
its opposite (the parameter must then be absent from the request) and the verdict shows it.

Keys:

``omits_params``
    ``{param: reason}`` for ``temperature`` and ``max_tokens``: the provider leaves the
    parameter out of its requests (for its current model), for the reason given.
``streams``
    ``False`` when the provider does not stream (it keeps the base class's one-chunk
    ``generate_stream``); the streaming clauses that need real streaming then report
    *not applicable*.
``max_tokens_key``
    Documentation only: the request key the provider uses for the token limit.
``folds_system``
    A reason: the provider sends system messages inside user turns (for models that have
    no system role). ``message-fidelity`` then requires them there, and never in the
    API's system place.
"""

from __future__ import annotations

from typing import Any

from .clauses import ClauseCannotJudge

__all__ = ["OMITTABLE_PARAMS", "PROFILE_KEYS", "read_profile"]

OMITTABLE_PARAMS = ("temperature", "max_tokens")
PROFILE_KEYS = ("omits_params", "streams", "max_tokens_key", "folds_system")


def read_profile(provider: Any) -> dict[str, Any]:
    """The provider's profile, checked; a malformed one is an error, never ignored."""
    raw = getattr(provider, "conformance_profile", None)
    if raw is None:
        return {"omits_params": {}, "streams": None, "folds_system": None}
    if not isinstance(raw, dict):
        raise ClauseCannotJudge(f"conformance_profile must be a dict, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(PROFILE_KEYS))
    if unknown:
        raise ClauseCannotJudge(
            f"conformance_profile has unknown key(s) {', '.join(unknown)}; known keys: {', '.join(PROFILE_KEYS)}"
        )
    omits = raw.get("omits_params") or {}
    if not isinstance(omits, dict) or not all(isinstance(v, str) and v for v in omits.values()):
        raise ClauseCannotJudge("conformance_profile['omits_params'] must map each parameter to a non-empty reason")
    bad = sorted(set(omits) - set(OMITTABLE_PARAMS))
    if bad:
        raise ClauseCannotJudge(
            f"conformance_profile['omits_params'] names {', '.join(bad)}; "
            f"only {', '.join(OMITTABLE_PARAMS)} can be omitted"
        )
    streams = raw.get("streams")
    if streams is not None and not isinstance(streams, bool):
        raise ClauseCannotJudge("conformance_profile['streams'] must be True or False")
    folds = raw.get("folds_system")
    if folds is not None and not (isinstance(folds, str) and folds.strip()):
        raise ClauseCannotJudge("conformance_profile['folds_system'] must be a non-empty reason, or absent")
    return {"omits_params": dict(omits), "streams": streams, "folds_system": folds}
