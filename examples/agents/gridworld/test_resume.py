#!/usr/bin/env python3
"""Tests of the gridworld example and the progress helper.

    python3 examples/agents/gridworld/test_resume.py

Runs train.py as a child process the way the node agent would: environment variables
in, protocol lines on stdout out, exit status.
"""

import importlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

HERE = Path(__file__).resolve().parent
TRAIN = HERE / "train.py"
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import agentmgr_progress  # noqa: E402
import train  # noqa: E402

PREFIX = "@agentmgr "
CHECKPOINT_EVERY = 2000


def parse_protocol(stdout):
    """The protocol messages in stdout, parsed and checked as docs/progress-protocol.md says."""
    messages = []
    for line in stdout.splitlines():
        if not line.startswith(PREFIX):
            continue  # ordinary log output
        message = json.loads(line[len(PREFIX):])
        assert isinstance(message, dict), line
        kind = message["kind"]
        assert kind in ("progress", "checkpoint", "result"), line
        if kind in ("progress", "checkpoint"):
            assert isinstance(message["step"], int) and message["step"] >= 0, line
        if kind == "checkpoint":
            assert message["uri"].startswith("file://"), line
        metrics = message["metrics"]
        assert isinstance(metrics, dict), line
        for value in metrics.values():
            assert isinstance(value, (int, float)) and not isinstance(value, bool), line
            assert math.isfinite(value), line
        messages.append(message)
    return messages


def only_result(messages):
    results = [message for message in messages if message["kind"] == "result"]
    assert len(results) == 1, f"expected one result, got {len(results)}"
    assert messages[-1] is results[0], "result must be the last protocol line"
    return results[0]["metrics"]


class GridworldTrainingTests(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.TemporaryDirectory()
        self.addCleanup(self.scratch.cleanup)

    def train(self, name, *flags, resume_from=None, parameters=None):
        """Run train.py with CHECKPOINT_DIR=<scratch>/<name>; returns (exit status, messages, checkpoint dir)."""
        checkpoint_dir = Path(self.scratch.name) / name
        env = {key: value for key, value in os.environ.items()
               if key not in ("RESUME_FROM", "AGENTMGR_PARAMETERS")}
        env.update(JOB_ID="job-test", RUN_ID=f"run-{name}", RANK="0", WORLD_SIZE="1",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT="29500", CHECKPOINT_DIR=str(checkpoint_dir))
        if resume_from is not None:
            env["RESUME_FROM"] = str(resume_from)
        if parameters is not None:
            env["AGENTMGR_PARAMETERS"] = json.dumps(parameters)
        completed = subprocess.run(
            [sys.executable, str(TRAIN), "--checkpoint-every", str(CHECKPOINT_EVERY), *flags],
            env=env, cwd=self.scratch.name, capture_output=True, text=True, timeout=60,
        )
        return completed.returncode, parse_protocol(completed.stdout), checkpoint_dir, completed.stderr

    def test_uninterrupted_run_checkpoints_reports_and_succeeds(self):
        status, messages, checkpoint_dir, stderr = self.train("full")
        self.assertEqual(status, 0, stderr)

        expected_steps = list(range(CHECKPOINT_EVERY, 20000 + 1, CHECKPOINT_EVERY))
        files = sorted(path.name for path in checkpoint_dir.iterdir())
        self.assertEqual(files, sorted(f"ckpt-{step}.json" for step in expected_steps))

        steps = [message["step"] for message in messages if "step" in message]
        self.assertEqual(steps, sorted(steps), "steps must be non-decreasing")
        announced = [message for message in messages if message["kind"] == "checkpoint"]
        self.assertEqual([message["step"] for message in announced], expected_steps)
        for message in announced:
            path = Path(url2pathname(urlparse(message["uri"]).path))
            self.assertTrue(path.is_absolute() and path.is_file(), message["uri"])
            self.assertEqual(json.loads(path.read_text())["step"], message["step"])
        self.assertTrue(any(message["kind"] == "progress" for message in messages))

        result = only_result(messages)
        for name in ("avg_return", "greedy_return", "q_checksum"):
            self.assertIn(name, result)

    def test_resume_after_crash_matches_uninterrupted_run_exactly(self):
        status, full_messages, full_dir, stderr = self.train("full")
        self.assertEqual(status, 0, stderr)

        status, crashed_messages, crashed_dir, stderr = self.train("crashed", "--stop-after", "7300")
        self.assertEqual(status, 3, stderr)
        self.assertFalse(any(message["kind"] == "result" for message in crashed_messages))
        latest = max(crashed_dir.glob("ckpt-*.json"), key=lambda path: int(path.stem.split("-")[1]))
        self.assertEqual(latest.name, "ckpt-6000.json")
        # Every field a checkpoint holds is restored: loading and saving again changes nothing.
        saved = json.loads(latest.read_text())
        self.assertEqual(train.Training.from_json(saved, saved["settings"]).to_json(), saved)

        status, resumed_messages, resumed_dir, stderr = self.train("crashed", resume_from=latest)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(resumed_messages[0]["step"], 6500, "resumes after step 6000")
        self.assertEqual(only_result(resumed_messages), only_result(full_messages))
        # Stronger than equal metrics: the final training state is the same, byte for byte.
        self.assertEqual((resumed_dir / "ckpt-20000.json").read_bytes(), (full_dir / "ckpt-20000.json").read_bytes())

    def test_parameters_from_environment_change_the_result(self):
        status, default_messages, _, stderr = self.train("default")
        self.assertEqual(status, 0, stderr)
        status, slower_messages, _, stderr = self.train("slower", parameters={"lr": 0.05})
        self.assertEqual(status, 0, stderr)
        self.assertNotEqual(only_result(slower_messages)["q_checksum"], only_result(default_messages)["q_checksum"])

        # A flag beats the environment: --lr 0.1 undoes {"lr": 0.05}.
        status, flag_messages, _, stderr = self.train("flag", "--lr", "0.1", parameters={"lr": 0.05})
        self.assertEqual(status, 0, stderr)
        self.assertEqual(only_result(flag_messages), only_result(default_messages))


class ProgressHelperTests(unittest.TestCase):
    def setUp(self):
        importlib.reload(agentmgr_progress)  # forget the last step and whether result() was sent

    def test_nan_and_infinite_metrics_are_refused(self):
        output = io.StringIO()
        for bad in (float("nan"), float("inf"), float("-inf")):
            with redirect_stdout(output), self.assertRaisesRegex(ValueError, "finite"):
                agentmgr_progress.progress(1, loss=bad)
            with redirect_stdout(output), self.assertRaisesRegex(ValueError, "finite"):
                agentmgr_progress.result(loss=bad)
        self.assertEqual(output.getvalue(), "", "nothing may be printed for a refused line")
        with redirect_stdout(output):
            agentmgr_progress.result(loss=0.25)  # a refused result() does not use up the one result
        self.assertEqual(parse_protocol(output.getvalue()), [{"kind": "result", "metrics": {"loss": 0.25}}])

    def test_lines_follow_the_protocol(self):
        output = io.StringIO()
        with tempfile.TemporaryDirectory() as directory, redirect_stdout(output):
            checkpoint_file = Path(directory) / "ckpt-3.json"
            checkpoint_file.write_text("{}")
            agentmgr_progress.progress(3, loss=0.5, step=3)  # a metric may be called "step"
            agentmgr_progress.checkpoint(3, str(checkpoint_file), loss=0.5)
        messages = parse_protocol(output.getvalue())
        self.assertEqual(messages[0], {"kind": "progress", "step": 3, "metrics": {"loss": 0.5, "step": 3}})
        self.assertEqual(messages[1]["uri"], checkpoint_file.absolute().as_uri())


if __name__ == "__main__":
    unittest.main()
