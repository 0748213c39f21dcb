"""pynference.distributed on a local Ray cluster (one per module) on the CPU with the host backend
and the synthetic engine: a clip with audio cut into 3 segments equals the single-process run
(decoded frame hashes, frame count, timestamps, audio), also when a task's worker dies once or is
killed mid-run; a folder of inputs; the command line's help and one-line errors."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

ray = pytest.importorskip("ray")

import pynference  # noqa: E402
from pynference import distributed  # noqa: E402

CLIP_TOOL = os.environ.get("PYN_CLIP_TOOL", "")
MODEL = "synthetic:x2"
LOSSLESS = {"device": "cpu", "encoder": "ffv1"}


def make_clip(path, frames=36):
    assert CLIP_TOOL, "PYN_CLIP_TOOL names tests/io's pyn_clip_tool (ctest sets it)"
    # H.264 with a key frame every 5 frames, FLAC audio, 25 fps.
    subprocess.run([CLIP_TOOL, "make", str(path), str(frames), "64x48", "libx264", "flac"],
                   check=True)


def probe(path):
    done = subprocess.run([CLIP_TOOL, "probe", str(path)], check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout)


def assert_same_as(one, other):
    a, b = probe(one), probe(other)
    assert b["frames"] == a["frames"]
    assert b["time_base"] == a["time_base"]
    assert b["pts"] == a["pts"], "timestamps"
    assert b["hashes"] == a["hashes"], "decoded frames"
    audio_a = [s for s in a["streams"] if s["type"] == "audio"]
    audio_b = [s for s in b["streams"] if s["type"] == "audio"]
    assert len(audio_a) == 1 and audio_b == audio_a, "the audio: codec, packets, start and end"


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    os.environ["PYN_DISTRIBUTED_FAULTS"] = str(folder)  # the workers inherit it
    # A loaded 2-core CI machine can starve the raylet's health checks long enough for Ray to mark
    # the node dead, which ends the driver (pytest) without a word: a minute of missed checks here.
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             _system_config={"health_check_failure_threshold": 20, "health_check_period_ms": 3000})
    yield folder
    ray.shutdown()
    del os.environ["PYN_DISTRIBUTED_FAULTS"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory, faults):
    folder = tmp_path_factory.mktemp("clip")
    path = folder / "in.mkv"
    make_clip(path)
    single = folder / "single.mkv"
    pynference.run(str(path), str(single), MODEL, **LOSSLESS)
    assert probe(single)["frames"] == 36
    return path, single


@pytest.fixture
def clean(faults):
    for name in os.listdir(faults):
        os.remove(faults / name)
    return faults


def test_three_segments_equal_the_single_run(clip, clean, tmp_path):
    path, single = clip
    assert [(s.start_s, s.end_s) for s in distributed.plan(str(path), 3)] == [
        (0.0, 0.4), (0.4, 1.0), (1.0, None)]
    seen = []
    out = tmp_path / "out.mkv"
    result = distributed.run(str(path), str(out), MODEL, segments=3, progress=lambda *a: seen.append(a),
                             **LOSSLESS)
    assert result["segments"] == 3 and result["frames"] == 36
    assert_same_as(single, out)
    assert seen and seen[-1] == (36, 36, 3, 3), "progress ends with every frame and segment"
    assert sorted(os.listdir(tmp_path)) == ["out.mkv"], "nothing left beside the output"
    assert all((clean / f"pid-0-{k}").exists() for k in range(3)), "each segment ran as a task"


def test_a_task_whose_worker_dies_once_is_retried(clip, clean, tmp_path):
    path, single = clip
    (clean / "crash-0-1").write_text("")
    out = tmp_path / "out.mkv"
    distributed.run(str(path), str(out), MODEL, segments=3, max_retries=2, **LOSSLESS)
    assert (clean / "crash-0-1.done").exists(), "segment 1's first try ended its worker"
    assert_same_as(single, out)


def test_without_retries_a_dead_worker_fails_in_one_line_and_leaves_no_output(clip, clean, tmp_path):
    path, _ = clip
    (clean / "crash-0-2").write_text("")
    out = tmp_path / "out.mkv"
    with pytest.raises(pynference.Error) as raised:
        distributed.run(str(path), str(out), MODEL, segments=3, max_retries=0, **LOSSLESS)
    assert "a segment failed after 0 retries" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert os.listdir(tmp_path) == []


def test_a_worker_killed_mid_run_leaves_no_corrupt_output(clip, clean, tmp_path):
    path, single = clip
    out = tmp_path / "out.mkv"
    outcome = {}

    def go():
        try:
            # 0.1 s a frame (the same frames): segment 1's 15 frames take 1.5 s at least
            outcome["result"] = distributed.run(str(path), str(out), MODEL + ":100", segments=3,
                                                max_retries=1, **LOSSLESS)
        except pynference.Error as e:
            outcome["error"] = e

    runner = threading.Thread(target=go)
    runner.start()
    pid_file = clean / "pid-0-1"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists(), "segment 1 started"
    time.sleep(0.5)  # a few frames into the segment
    killed = pid_file.read_text()
    # A worker's pid, never this process's own or its parent's (ctest's).
    assert killed.isdigit() and int(killed) not in (os.getpid(), os.getppid()), killed
    os.kill(int(killed), signal.SIGKILL)
    assert runner.is_alive(), "killed mid-run"
    runner.join()
    if "error" in outcome:
        assert not out.exists()
    else:
        assert pid_file.read_text() != killed, "segment 1 ran again in another worker"
        assert_same_as(single, out)
    assert [n for n in os.listdir(tmp_path) if n != "out.mkv"] == [], "no partial files left"


def test_a_cluster_without_gpus_is_told_at_once(clip, tmp_path):
    path, _ = clip
    with pytest.raises(pynference.DeviceUnavailable, match="has no GPU"):
        distributed.run(str(path), str(tmp_path / "out.mkv"), MODEL, segments=3, device="cuda")
    assert os.listdir(tmp_path) == []


def test_a_folder_of_inputs_gives_a_folder_of_outputs(clean, tmp_path):
    inputs = tmp_path / "episodes"
    inputs.mkdir()
    make_clip(inputs / "a.mkv", 20)
    make_clip(inputs / "b.mkv", 12)
    outputs = tmp_path / "done"
    result = distributed.run(str(inputs), str(outputs), MODEL, segments=2, **LOSSLESS)
    assert sorted(os.listdir(outputs)) == ["a.mkv", "b.mkv"]
    assert result["frames"] == 32 and result["segments"] == 4
    for name in ("a.mkv", "b.mkv"):
        single = tmp_path / f"single-{name}"
        pynference.run(str(inputs / name), str(single), MODEL, **LOSSLESS)
        assert_same_as(single, outputs / name)
    with pytest.raises(pynference.UsageError, match="exists: add -y"):
        distributed.run(str(inputs), str(outputs), MODEL, segments=2, **LOSSLESS)


def test_the_command_line_answers_help_and_errors_in_one_line(tmp_path):
    cli = [sys.executable, "-m", "pynference.distributed"]
    shown = subprocess.run(cli + ["--help"], capture_output=True, text=True)
    assert shown.returncode == 0
    assert "--segments" in shown.stdout and "--address" in shown.stdout
    missing = subprocess.run(cli + [str(tmp_path / "none.mkv"), str(tmp_path / "o.mkv"), "-m", MODEL,
                                    "--segments", "2"], capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "none.mkv" in missing.stderr, missing.stderr
    no_model = subprocess.run(cli + ["a.mkv", "b.mkv"], capture_output=True, text=True)
    assert no_model.returncode == 2 and no_model.stderr.count("\n") == 1, no_model.stderr
    window = subprocess.run(cli + ["a.mkv", "b.mkv", "-m", MODEL, "--ss", "3"], capture_output=True,
                            text=True)
    assert window.returncode == 2 and "ss is not taken" in window.stderr, window.stderr
    share = subprocess.run(cli + ["a.mkv", "b.mkv", "-m", MODEL, "--gpus-per-task", "0"],
                           capture_output=True, text=True)
    assert share.returncode == 2 and "gpus_per_task must be" in share.stderr, share.stderr
