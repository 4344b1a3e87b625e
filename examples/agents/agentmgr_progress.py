"""Report progress to AgentManager's node agent (docs/progress-protocol.md).

Standard library only; copy this file next to your training script.

    import agentmgr_progress as amp
    amp.progress(step, loss=loss)                     # every so often
    amp.checkpoint(step, "ckpt-100.pt", loss=loss)    # after the file is fully written
    amp.result(accuracy=0.93)                         # once, just before exiting 0

Every call prints one line, `@agentmgr {...}`, to stdout and flushes it, so the
node agent sees it at once even when stdout is a pipe.
"""

import json
import math
import os
import sys
from pathlib import Path

PREFIX = "@agentmgr "

_last_step = 0
_result_sent = False


def progress(step, /, **metrics):
    """Report that training has completed `step` steps."""
    metrics = _checked_metrics(metrics)
    _emit({"kind": "progress", "step": _checked_step(step), "metrics": metrics})


def checkpoint(step, path, /, **metrics):
    """Announce a checkpoint file that is complete on disk (write it first, then call this)."""
    metrics = _checked_metrics(metrics)
    absolute = Path(os.path.abspath(path))
    if not absolute.is_file():
        raise FileNotFoundError(f"checkpoint file does not exist: {absolute}")
    _emit({"kind": "checkpoint", "step": _checked_step(step), "uri": absolute.as_uri(), "metrics": metrics})


def result(**metrics):
    """Report the final metrics; call once, just before a successful exit."""
    global _result_sent
    if _result_sent:
        raise RuntimeError("result() was already called; a run has one result")
    checked = _checked_metrics(metrics)
    _result_sent = True
    _emit({"kind": "result", "metrics": checked})


def resume_path():
    """The checkpoint file to resume from (RESUME_FROM), or None on a fresh start."""
    return os.environ.get("RESUME_FROM") or None


def checkpoint_dir():
    """The directory to write checkpoints into (CHECKPOINT_DIR, default ./checkpoints); created if missing."""
    directory = os.environ.get("CHECKPOINT_DIR") or "./checkpoints"
    os.makedirs(directory, exist_ok=True)
    return directory


def parameters():
    """The curriculum stage's parameters (AGENTMGR_PARAMETERS, a JSON object), or {}."""
    raw = os.environ.get("AGENTMGR_PARAMETERS")
    if not raw or not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"AGENTMGR_PARAMETERS is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"AGENTMGR_PARAMETERS must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _checked_step(step):
    """Check step, and remember it; call last, once everything else in the line is known good."""
    global _last_step
    # bool is an int subclass; True is not a step number.
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    if step < _last_step:
        raise ValueError(f"step went backwards: {step} after {_last_step}")
    _last_step = step
    return step


def _checked_metrics(metrics):
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"metric {name!r} must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):  # ints are always finite
            raise ValueError(f"metric {name!r} must be finite, got {value!r}")
    return dict(metrics)


def _emit(message):
    # allow_nan=False is a second guard: JSON has no NaN/Infinity, and a reader would refuse the line.
    line = PREFIX + json.dumps(message, separators=(",", ":"), allow_nan=False)
    print(line, file=sys.stdout, flush=True)
