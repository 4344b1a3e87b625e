#!/usr/bin/env python3
"""Tabular Q-learning on a 6x6 gridworld that checkpoints and resumes exactly.

An example agent for AgentManager's node agent: it reports through the progress
protocol (docs/progress-protocol.md), writes checkpoints into CHECKPOINT_DIR and,
started with RESUME_FROM, continues from a checkpoint so that the final result is
bit-for-bit what an uninterrupted run gives. Standard library only.

Settings, later ones winning: the defaults below; on resume, the settings stored in
the checkpoint; AGENTMGR_PARAMETERS (same names, e.g. {"lr": 0.05}); command-line flags.
--steps is the total step count of the run, counted across resumes.

Exit status: 0 done, 2 bad settings or checkpoint, 3 simulated crash (--stop-after),
143 stopped by SIGTERM after writing a checkpoint of the step it had reached.
"""

import argparse
import json
import math
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import agentmgr_progress as amp  # noqa: E402  (lives one directory up)

# S start, G goal, # wall, P pit. Reaching G or P ends the episode.
LAYOUT = (
    "S.....",
    ".##.P.",
    "....#.",
    "P.#...",
    "...#..",
    ".P...G",
)
ROWS, COLS = len(LAYOUT), len(LAYOUT[0])
START = (0, 0)
ACTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left
STEP_REWARD, GOAL_REWARD, PIT_REWARD = -1, 10, -10
EPISODE_CAP = 50  # steps before an episode is cut off (not terminal: Q-learning still bootstraps)
RECENT_EPISODES = 100  # window of avg_return and success_rate
CHECKPOINT_FORMAT = "gridworld-q/1"

DEFAULTS = {
    "steps": 20000,
    "checkpoint_every": 2000,
    "report_every": 500,
    "seed": 7,
    "lr": 0.1,
    "gamma": 0.95,
    "epsilon": 0.1,
}
INT_SETTINGS = ("steps", "checkpoint_every", "report_every", "seed")


class SettingsError(Exception):
    pass


def env_step(position, action):
    """One move: returns (new position, reward, terminal). Walls and edges leave the agent in place."""
    row, col = position[0] + ACTIONS[action][0], position[1] + ACTIONS[action][1]
    if not (0 <= row < ROWS and 0 <= col < COLS) or LAYOUT[row][col] == "#":
        return position, STEP_REWARD, False
    cell = LAYOUT[row][col]
    if cell == "G":
        return (row, col), GOAL_REWARD, True
    if cell == "P":
        return (row, col), PIT_REWARD, True
    return (row, col), STEP_REWARD, False


def state_index(position):
    return position[0] * COLS + position[1]


def greedy_action(values):
    """Index of the largest value; ties go to the lowest index, so no randomness is needed."""
    best = 0
    for action in range(1, len(values)):
        if values[action] > values[best]:
            best = action
    return best


class Training:
    """Everything a checkpoint must hold to continue exactly."""

    def __init__(self, settings):
        self.settings = settings
        self.step = 0
        self.episodes = 0
        self.position = START
        self.episode_steps = 0
        self.episode_return = 0
        self.q = [[0.0] * len(ACTIONS) for _ in range(ROWS * COLS)]
        self.rng = random.Random(settings["seed"])
        self.recent_returns = []  # of the last RECENT_EPISODES episodes, oldest first
        self.recent_successes = []  # 1 if that episode reached the goal, else 0

    def advance(self):
        """Take one environment step and learn from it."""
        lr, gamma, epsilon = self.settings["lr"], self.settings["gamma"], self.settings["epsilon"]
        state = state_index(self.position)
        values = self.q[state]
        if self.rng.random() < epsilon:
            action = self.rng.randrange(len(ACTIONS))
        else:
            action = greedy_action(values)
        position, reward, terminal = env_step(self.position, action)
        target = reward if terminal else reward + gamma * max(self.q[state_index(position)])
        values[action] += lr * (target - values[action])

        self.step += 1
        self.position = position
        self.episode_steps += 1
        self.episode_return += reward
        if terminal or self.episode_steps >= EPISODE_CAP:
            self.finish_episode(reached_goal=terminal and reward == GOAL_REWARD)

    def finish_episode(self, reached_goal):
        self.episodes += 1
        self.recent_returns = (self.recent_returns + [self.episode_return])[-RECENT_EPISODES:]
        self.recent_successes = (self.recent_successes + [1 if reached_goal else 0])[-RECENT_EPISODES:]
        self.position = START
        self.episode_steps = 0
        self.episode_return = 0

    def metrics(self):
        metrics = {"episodes": self.episodes, "epsilon": self.settings["epsilon"]}
        if self.recent_returns:  # undefined before the first episode ends
            metrics["avg_return"] = sum(self.recent_returns) / len(self.recent_returns)
            metrics["success_rate"] = sum(self.recent_successes) / len(self.recent_successes)
        return metrics

    def greedy_return(self):
        """Return of one greedy episode from the start with the current Q-table (no exploration)."""
        position, total = START, 0
        for _ in range(EPISODE_CAP):
            position, reward, terminal = env_step(position, greedy_action(self.q[state_index(position)]))
            total += reward
            if terminal:
                break
        return total

    def q_checksum(self):
        return round(math.fsum(value for row in self.q for value in row), 9)

    def to_json(self):
        version, internal_state, gauss_next = self.rng.getstate()
        return {
            "format": CHECKPOINT_FORMAT,
            "layout": list(LAYOUT),
            "settings": self.settings,
            "step": self.step,
            "episodes": self.episodes,
            "position": list(self.position),
            "episode_steps": self.episode_steps,
            "episode_return": self.episode_return,
            "q": self.q,
            # Python floats survive JSON exactly (repr is shortest round-trip), and so do ints.
            "rng_state": [version, list(internal_state), gauss_next],
            "recent_returns": self.recent_returns,
            "recent_successes": self.recent_successes,
        }

    @classmethod
    def from_json(cls, saved, settings):
        if saved.get("format") != CHECKPOINT_FORMAT or saved.get("layout") != list(LAYOUT):
            raise SettingsError("checkpoint is not from this gridworld (format or layout differs)")
        training = cls(settings)
        training.step = saved["step"]
        training.episodes = saved["episodes"]
        training.position = tuple(saved["position"])
        training.episode_steps = saved["episode_steps"]
        training.episode_return = saved["episode_return"]
        training.q = [[float(value) for value in row] for row in saved["q"]]
        version, internal_state, gauss_next = saved["rng_state"]
        training.rng.setstate((version, tuple(internal_state), gauss_next))
        training.recent_returns = saved["recent_returns"]
        training.recent_successes = saved["recent_successes"]
        return training


def write_checkpoint(training, directory):
    """Write ckpt-<step>.json atomically: a reader never sees a half-written file."""
    path = os.path.join(directory, f"ckpt-{training.step}.json")
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(training.to_json(), file, separators=(",", ":"))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return path


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # default=None marks "not given", so that a flag overrides the environment only when present.
    parser.add_argument("--steps", type=int, help=f"total environment steps (default {DEFAULTS['steps']})")
    parser.add_argument("--checkpoint-every", type=int, help=f"steps between checkpoints (default {DEFAULTS['checkpoint_every']})")
    parser.add_argument("--report-every", type=int, help=f"steps between progress lines (default {DEFAULTS['report_every']})")
    parser.add_argument("--seed", type=int, help=f"RNG seed of a fresh start; a resume restores the RNG (default {DEFAULTS['seed']})")
    parser.add_argument("--lr", type=float, help=f"learning rate (default {DEFAULTS['lr']})")
    parser.add_argument("--gamma", type=float, help=f"discount (default {DEFAULTS['gamma']})")
    parser.add_argument("--epsilon", type=float, help=f"exploration rate (default {DEFAULTS['epsilon']})")
    parser.add_argument("--stop-after", type=int, metavar="N", help="testing aid: exit 3 right after step N, as if crashed")
    parser.add_argument(
        "--report-delay", type=float, default=0.0, metavar="SECONDS",
        help="demo and testing aid: sleep this long after each progress line, as slower training would (default 0)")
    return parser.parse_args(argv)


def coerce_parameter(name, value):
    """A parameter from AGENTMGR_PARAMETERS as the setting's type, or SettingsError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"parameter {name!r} must be a number, got {value!r}")
    if name in INT_SETTINGS:
        if value != int(value):
            raise SettingsError(f"parameter {name!r} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def resolve_settings(args, saved_settings):
    settings = dict(DEFAULTS)
    if saved_settings:
        settings.update({name: saved_settings[name] for name in DEFAULTS if name in saved_settings})
    try:
        parameters = amp.parameters()
    except ValueError as error:
        raise SettingsError(str(error)) from error
    for name in sorted(parameters):
        if name in DEFAULTS:
            settings[name] = coerce_parameter(name, parameters[name])
        else:  # e.g. a curriculum written for another agent; not fatal
            print(f"warning: ignoring unknown parameter {name!r}", file=sys.stderr, flush=True)
    for name in DEFAULTS:
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)

    if min(settings["steps"], settings["checkpoint_every"], settings["report_every"]) < 1:
        raise SettingsError("steps, checkpoint_every and report_every must be at least 1")
    if not (0 < settings["lr"] <= 1 and 0 <= settings["gamma"] <= 1 and 0 <= settings["epsilon"] <= 1):
        raise SettingsError("need 0 < lr <= 1, 0 <= gamma <= 1, 0 <= epsilon <= 1")
    return settings


def load_training(args):
    """A fresh Training, or the one in RESUME_FROM."""
    resume_from = amp.resume_path()
    if resume_from is None:
        return Training(resolve_settings(args, None))
    try:
        with open(resume_from, encoding="utf-8") as file:
            saved = json.load(file)
    except (OSError, ValueError) as error:
        raise SettingsError(f"cannot read checkpoint {resume_from}: {error}") from error
    training = Training.from_json(saved, resolve_settings(args, saved.get("settings")))
    print(f"resuming from {resume_from} at step {training.step}", flush=True)
    return training


def main(argv=None):
    args = parse_args(argv)
    try:
        training = load_training(args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    settings = training.settings
    if training.step > settings["steps"]:
        print(f"error: checkpoint is at step {training.step}, past --steps {settings['steps']}", file=sys.stderr)
        return 2
    directory = amp.checkpoint_dir()
    print(f"gridworld: steps {training.step}..{settings['steps']}, settings {json.dumps(settings, sort_keys=True)}", flush=True)

    # SIGTERM (preemption, a rollback, the node agent stopping): checkpoint where we are and exit,
    # so that the resumed run loses nothing (the node agent waits a grace period before SIGKILL).
    stop_requested = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.append(signum))

    first_step = training.step
    while training.step < settings["steps"]:
        if stop_requested:
            step = training.step
            amp.checkpoint(step, write_checkpoint(training, directory), **training.metrics())
            print(f"SIGTERM: checkpointed step {step}, stopping", file=sys.stderr, flush=True)
            return 143
        training.advance()
        step = training.step
        if step == args.stop_after:
            print(f"stopping after step {step} (--stop-after)", file=sys.stderr, flush=True)
            return 3
        if step % settings["report_every"] == 0:
            amp.progress(step, **training.metrics())
            if args.report_delay > 0:
                time.sleep(args.report_delay)
        # Also checkpoint the last step, so a following curriculum stage can start from it.
        if step % settings["checkpoint_every"] == 0 or step == settings["steps"]:
            amp.checkpoint(step, write_checkpoint(training, directory), **training.metrics())

    if training.step == first_step:
        print("nothing to do: the checkpoint is already at --steps", flush=True)
    amp.result(
        **training.metrics(),
        steps=training.step,
        greedy_return=training.greedy_return(),
        q_checksum=training.q_checksum(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
