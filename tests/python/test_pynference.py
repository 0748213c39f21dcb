"""The Python module on the host backend with the synthetic engine: frames equal the CLI's, map
keeps order with frames in flight, errors are one-line exceptions, run() writes what the CLI writes."""

import os
import subprocess
import threading

import numpy as np
import PIL.Image
import pytest

import pynference

CLI = os.environ.get("PYN_BINARY", "")


def cli(*args):
    assert CLI, "PYN_BINARY names the pynference program (ctest sets it)"
    done = subprocess.run([CLI, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def random_frames(rng, count, height, width, dtype=np.uint8):
    top = np.iinfo(dtype).max
    return [rng.integers(0, top, (height, width, 3), dtype=dtype, endpoint=True) for _ in range(count)]


def through_cli(tmp_path, frames, model):
    """The CLI's output for 8-bit RGB frames, through PNG sequences in and out."""
    inputs = tmp_path / "in"
    outputs = tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    for i, frame in enumerate(frames, start=1):
        PIL.Image.fromarray(frame, "RGB").save(inputs / f"{i:04d}.png")
    cli("run", "-i", str(inputs / "%04d.png"), "-o", str(outputs / "%04d.png"), "-m", model,
        "--device", "cpu", "--quiet")
    return [np.asarray(PIL.Image.open(outputs / f"{i:04d}.png").convert("RGB"))
            for i in range(1, len(frames) + 1)]


def synthetic_reference(frame, scale):
    """The synthetic engine's function (include/pynference/engine/synthetic.hpp): nearest-neighbour
    upscale, then 1 - x, in [0, 1]."""
    top = np.iinfo(frame.dtype).max
    up = frame.repeat(scale, axis=0).repeat(scale, axis=1).astype(np.float64) / top
    return (1.0 - up) * top


def test_a_frame_equals_the_cli_output(tmp_path):
    rng = np.random.default_rng()
    frames = random_frames(rng, 3, 18, 26)
    proc = pynference.Processor("synthetic:x2", device="cpu")
    ours = [proc(frame) for frame in frames]
    theirs = through_cli(tmp_path, frames, "synthetic:x2")
    for mine, cli_frame, frame in zip(ours, theirs, frames):
        assert mine.shape == (36, 52, 3) and mine.dtype == np.uint8
        np.testing.assert_array_equal(mine, cli_frame)
        # fp16 in the network: within one step of the exact function
        assert np.abs(mine - synthetic_reference(frame, 2)).max() <= 1.0


def test_sixteen_bit_frames_follow_the_reference():
    rng = np.random.default_rng()
    frame = random_frames(rng, 1, 10, 14, np.uint16)[0]
    out = pynference.Processor("synthetic:x3", device="cpu", dtype="fp32")(frame)
    assert out.shape == (30, 42, 3) and out.dtype == np.uint16
    assert np.abs(out - synthetic_reference(frame, 3)).max() <= 0.5 + 1e-9


def test_a_non_contiguous_frame_is_taken_as_its_values():
    rng = np.random.default_rng()
    frame = random_frames(rng, 1, 12, 20)[0]
    proc = pynference.Processor("synthetic:x2", device="cpu")
    flipped = frame[::-1, :, :]
    np.testing.assert_array_equal(proc(flipped), proc(np.ascontiguousarray(flipped)))


@pytest.mark.parametrize(
    "strategy", ["serial-pageable", "serial-pinned", "worker-streams", "split-streams", "multi-compute"])
def test_map_keeps_order_with_many_frames_in_flight(strategy):
    rng = np.random.default_rng()
    frames = random_frames(rng, 48, 8, 12)
    one = pynference.Processor("synthetic:x2", device="cpu")
    expected = [one(frame) for frame in frames]
    serial = strategy.startswith("serial")
    proc = pynference.Processor("synthetic:x2:2", device="cpu", strategy=strategy,
                                slots=None if serial else 12)
    in_flight = []

    def feed():
        for frame in frames:
            in_flight.append(proc._core.in_flight())
            yield frame

    results = list(proc.map(feed()))
    assert len(results) == len(frames)
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)
    if serial:
        assert max(in_flight) <= 1
    else:
        assert max(in_flight) >= 6  # frames were put while others computed
    assert proc._core.in_flight() == 0


def test_a_kept_result_stays_its_frame_while_later_frames_reuse_dropped_ones():
    # A result is made of the buffer its frame was downloaded into; buffers of results dropped go
    # to later frames, never one still held.
    rng = np.random.default_rng()
    frames = random_frames(rng, 40, 6, 10)
    alone = pynference.Processor("synthetic:x2", device="cpu")
    expected = [alone(frame) for frame in frames]
    proc = pynference.Processor("synthetic:x2", device="cpu", slots=2)
    kept = {}
    for index, got in enumerate(proc.map(frames)):
        np.testing.assert_array_equal(got, expected[index])
        if index % 3 == 0:
            kept[index] = got
    del got
    for index, got in kept.items():
        np.testing.assert_array_equal(got, expected[index])
    proc.close()
    for index, got in kept.items():  # the Processor's pool freed; held results are still theirs
        np.testing.assert_array_equal(got, expected[index])


def test_map_takes_a_change_of_size_and_type():
    rng = np.random.default_rng()
    frames = random_frames(rng, 3, 8, 8) + random_frames(rng, 3, 6, 10, np.uint16) + random_frames(rng, 2, 8, 8)
    proc = pynference.Processor("synthetic:x2", device="cpu", slots=4)
    alone = pynference.Processor("synthetic:x2", device="cpu")
    for got, frame in zip(proc.map(frames), frames):
        np.testing.assert_array_equal(got, alone(frame))


def test_threads_share_one_processor():
    rng = np.random.default_rng()
    frames = random_frames(rng, 32, 6, 6)
    proc = pynference.Processor("synthetic:x2:1", device="cpu", slots=3, lanes=2)
    expected = [pynference.Processor("synthetic:x2", device="cpu")(f) for f in frames]
    results = [None] * len(frames)

    def work(start):
        for i in range(start, len(frames), 4):
            results[i] = proc(frames[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def one_line(error):
    text = str(error.value)
    assert text and "\n" not in text
    return text


def test_errors_are_one_line_exceptions():
    with pytest.raises(pynference.UsageError) as error:
        pynference.Processor("synthetic:y3", device="cpu")
    assert isinstance(error.value, ValueError) and "synthetic:y3" in one_line(error)

    with pytest.raises(pynference.UsageError) as error:
        pynference.Processor("synthetic:x2", device="cpu", lanes=0)
    assert "lanes" in one_line(error)

    with pytest.raises(pynference.UsageError) as error:
        pynference.Processor("synthetic:x2", device="cpu", strategy="fastest")
    assert "fastest" in one_line(error)

    with pytest.raises(pynference.UsageError) as error:
        pynference.Processor("synthetic:x2", device="cpu", dtype="int8")
    assert "int8" in one_line(error)

    proc = pynference.Processor("synthetic:x2", device="cpu")
    with pytest.raises(ValueError) as error:
        proc(np.zeros((4, 4), np.uint8))
    assert "(4, 4)" in one_line(error)
    with pytest.raises(ValueError) as error:
        proc(np.zeros((4, 4, 3), np.float32))
    assert "float32" in one_line(error)


def test_a_missing_model_file_is_a_usage_error(tmp_path):
    with pytest.raises(pynference.UsageError) as error:
        pynference.Processor(str(tmp_path / "none.pt2"), device="cpu")
    assert "none.pt2" in one_line(error)


def test_no_gpu_is_device_unavailable():
    try:
        pynference.Processor("synthetic:x2", device="cuda:0")
    except pynference.DeviceUnavailable as error:
        assert isinstance(error, RuntimeError)
        assert "device='cuda:0'" in str(error) and "\n" not in str(error)
    else:
        pytest.skip("this machine has a CUDA device")


def test_run_writes_the_y4m_the_cli_writes(tmp_path):
    made = tmp_path / "source.y4m"
    cli("run", "-i", "synthetic:40x24:6", "-o", str(made), "-m", "synthetic:x1", "--device", "cpu", "--quiet")
    for source, options, flags in [
        ("synthetic:40x24:7", {}, []),
        (str(made), {"strategy": "worker-streams", "pix_fmt": "yuv444p"}, ["--strategy", "worker-streams", "--pix-fmt", "yuv444p"]),
    ]:
        ours = tmp_path / "ours.y4m"
        theirs = tmp_path / "theirs.y4m"
        calls = []
        result = pynference.run(source, str(ours), "synthetic:x2", device="cpu", y=True,
                                progress=lambda n, total: calls.append((n, total)), **options)
        cli("run", "-i", source, "-o", str(theirs), "-m", "synthetic:x2", "--device", "cpu", "--quiet", "-y", *flags)
        assert ours.read_bytes() == theirs.read_bytes()
        frames = 7 if source.startswith("synthetic") else 6
        assert result.frames == frames and not result.interrupted
        assert calls and calls[-1] == (frames, frames)
        assert [n for n, _ in calls] == sorted(n for n, _ in calls)


def test_run_errors_name_keywords(tmp_path):
    with pytest.raises(pynference.UsageError) as error:
        pynference.run("synthetic:16x8:2", str(tmp_path / "o.y4m"), "synthetic:x2", device="cpu",
                       strategy="split-streams", slots=1)
    text = one_line(error)
    assert "slots" in text and "--" not in text

    with pytest.raises(pynference.UsageError) as error:
        pynference.run("synthetic:16x8:2", str(tmp_path / "o.y4m"), "synthetic:x2", device="cpu",
                       no_such_option=3)
    assert "no_such_option" in one_line(error)

    out = tmp_path / "there.y4m"
    out.write_bytes(b"")
    with pytest.raises(pynference.UsageError) as error:
        pynference.run("synthetic:16x8:2", str(out), "synthetic:x2", device="cpu")
    assert "y=True" in one_line(error)


def test_an_exception_in_progress_stops_the_run(tmp_path):
    out = tmp_path / "o.y4m"

    def progress(frames, total):
        raise KeyError("enough")

    with pytest.raises(KeyError):
        pynference.run("synthetic:32x16:400", str(out), "synthetic:x2:5", device="cpu", progress=progress)
    # stopped after the frames in flight: a valid, shorter output
    written = out.read_bytes().count(b"FRAME\n")
    assert 0 < written < 400


def test_ctrl_c_stops_run_after_the_frames_in_flight(tmp_path):
    import signal
    import sys
    import time

    out = tmp_path / "o.y4m"
    script = ("import pynference; pynference.run('synthetic:32x16:2000', %r, 'synthetic:x2:5', device='cpu')"
              % str(out))
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    part = tmp_path / "o.y4m.part"
    deadline = time.monotonic() + 60
    while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode != 0 and "KeyboardInterrupt" in stderr, stderr
    written = out.read_bytes().count(b"FRAME\n")
    assert 0 < written < 2000
    assert not part.exists()


# --- torch tensors ---------------------------------------------------------------------------------
# On the host backend the device's memory is host memory: a CPU tensor is lent to the Processor as
# a device frame (read where it lies) and its result written into a tensor of the caller's, the path
# a CUDA tensor takes on a GPU.

try:
    import torch
except ImportError:  # a failure in CI, where scripts/install-deps.sh installed it
    torch = None
needs_torch = pytest.mark.skipif(torch is None and os.environ.get("CI") != "true",
                                 reason="torch is not installed")


def copies(proc, before):
    now = proc.stats
    return now["uploads"] - before["uploads"], now["downloads"] - before["downloads"]


@needs_torch
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_torch_tensors_are_lent_with_no_copies_and_equal_the_numpy_path(dtype):
    rng = np.random.default_rng()
    frames = random_frames(rng, 5, 11, 17, dtype)
    proc = pynference.Processor("synthetic:x2", device="cpu")
    before = proc.stats
    expected = [proc(frame) for frame in frames]
    assert copies(proc, before) == (5, 5)  # the numpy path: each frame up and down
    before = proc.stats
    for frame, want in zip(frames, expected):
        got = proc(torch.from_numpy(frame.copy()))
        assert isinstance(got, torch.Tensor) and got.dtype == torch.from_numpy(want).dtype
        np.testing.assert_array_equal(got.numpy(), want)
    assert copies(proc, before) == (0, 0)
    assert proc.stats["frames"] == 10


@needs_torch
def test_map_over_torch_tensors_keeps_order_without_copies():
    rng = np.random.default_rng()
    frames = random_frames(rng, 40, 8, 12)
    one = pynference.Processor("synthetic:x2", device="cpu")
    expected = [one(frame) for frame in frames]
    proc = pynference.Processor("synthetic:x2:2", device="cpu", slots=8)
    in_flight = []

    def feed():
        for frame in frames:
            in_flight.append(proc._core.in_flight())
            yield torch.from_numpy(frame)

    results = list(proc.map(feed()))
    assert len(results) == len(frames)
    for got, want in zip(results, expected):
        assert isinstance(got, torch.Tensor)
        np.testing.assert_array_equal(got.numpy(), want)
    assert max(in_flight) >= 4
    assert proc.stats == {"frames": 40, "uploads": 0, "downloads": 0}


@needs_torch
def test_numpy_in_numpy_out_torch_in_torch_out_in_one_map():
    rng = np.random.default_rng()
    frames = random_frames(rng, 6, 6, 10)
    mixed = [torch.from_numpy(f) if i % 2 else f for i, f in enumerate(frames)]
    proc = pynference.Processor("synthetic:x2", device="cpu", slots=3)
    results = list(proc.map(mixed))
    for i, (got, frame) in enumerate(zip(results, frames)):
        assert isinstance(got, torch.Tensor if i % 2 else np.ndarray)
        np.testing.assert_array_equal(np.asarray(got), proc(frame))
    assert copies(proc, {"uploads": 0, "downloads": 0}) == (3 + 6, 3 + 6)


@needs_torch
def test_out_is_written_in_place_and_returned():
    rng = np.random.default_rng()
    frame = random_frames(rng, 1, 9, 7)[0]
    proc = pynference.Processor("synthetic:x3", device="cpu")
    out = torch.full((27, 21, 3), 7, dtype=torch.uint8)
    where = out.data_ptr()
    got = proc(torch.from_numpy(frame), out=out)
    assert got is out and out.data_ptr() == where
    np.testing.assert_array_equal(out.numpy(), proc(frame))


@needs_torch
def test_a_crop_of_a_wider_tensor_is_read_where_it_lies():
    rng = np.random.default_rng()
    wide = torch.from_numpy(random_frames(rng, 1, 10, 30)[0])
    crop = wide[2:9, 5:21, :]  # rows 90 samples apart, pixels packed
    assert not crop.is_contiguous()
    proc = pynference.Processor("synthetic:x2", device="cpu")
    before = proc.stats
    got = proc(crop)
    assert copies(proc, before) == (0, 0)
    np.testing.assert_array_equal(got.numpy(), proc(np.ascontiguousarray(crop.numpy())))


@needs_torch
def test_tensors_of_other_layouts_and_types_are_refused_in_one_line():
    proc = pynference.Processor("synthetic:x2", device="cpu")
    frame = torch.zeros((6, 8, 3), dtype=torch.uint8)
    with pytest.raises(pynference.UsageError) as error:
        proc(frame.permute(1, 0, 2))  # columns first: pixels not packed
    assert "strides (3, 24, 1)" in one_line(error) and ".contiguous()" in one_line(error)
    with pytest.raises(pynference.UsageError) as error:
        proc(torch.zeros((3, 6, 8), dtype=torch.uint8).permute(1, 2, 0))  # planar (CHW) memory
    assert "strides (8, 1, 48)" in one_line(error)
    with pytest.raises(pynference.UsageError) as error:
        proc(torch.zeros((6, 8, 3), dtype=torch.float32))
    assert "float32" in one_line(error)
    with pytest.raises(pynference.UsageError) as error:
        proc(torch.zeros((6, 8), dtype=torch.uint8))
    assert "(6, 8)" in one_line(error)
    with pytest.raises(pynference.UsageError) as error:
        proc(frame, out=torch.empty((12, 16, 3), dtype=torch.uint16))
    assert "(12, 16, 3) of uint8" in one_line(error) and "uint16" in one_line(error)
    with pytest.raises(pynference.UsageError) as error:
        proc(frame, out=torch.empty((16, 12, 3), dtype=torch.uint8).transpose(0, 1))
    assert "strides (3, 36, 1)" in one_line(error)
    with pytest.raises(pynference.UsageError) as error:
        proc(np.zeros((6, 8, 3), np.uint8), out=torch.empty((12, 16, 3), dtype=torch.uint8))
    assert "out" in one_line(error)
    assert proc.stats["frames"] == 0  # none of them was submitted
    np.testing.assert_array_equal(proc(frame).numpy(), proc(frame.numpy()))  # and it still works


class Exported:
    """An array of another library: only the DLPack protocol, over a numpy array."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_another_librarys_host_array_goes_as_numpy_does():
    rng = np.random.default_rng()
    frame = random_frames(rng, 1, 7, 9)[0]
    proc = pynference.Processor("synthetic:x2", device="cpu")
    got = proc(Exported(frame))
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, proc(frame))


@needs_torch
def test_threads_share_one_processor_over_tensors():
    rng = np.random.default_rng()
    frames = random_frames(rng, 24, 6, 6)
    proc = pynference.Processor("synthetic:x2:1", device="cpu", slots=3, lanes=2)
    expected = [pynference.Processor("synthetic:x2", device="cpu")(f) for f in frames]
    results = [None] * len(frames)

    def work(start):
        for i in range(start, len(frames), 4):
            results[i] = proc(torch.from_numpy(frames[i]))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got.numpy(), want)
    assert proc.stats == {"frames": 24, "uploads": 0, "downloads": 0}


@needs_torch
def test_the_gpu_python_bench_runs_on_the_host_backend(tmp_path):
    """scripts/gpu_python_bench.py, which the GPU machine runs, on the CPU at a tiny size: each row
    is there, the numpy path copies each frame both ways and the tensor path none."""
    import json
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "gpu_python_bench.py"
    assert CLI, "PYN_BINARY names the pynference program (ctest sets it)"
    done = subprocess.run([sys.executable, str(script), "--bin", CLI, "--model", "synthetic:x2",
                           "--size", "32x24", "--device", "cpu", "--frames", "12", "--repeat", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True)
    results = json.loads((tmp_path / "python-bench.json").read_text())
    assert results["failures"] == ["vapoursynth: no plugin built"], done.stdout + done.stderr
    assert results["bench"]["fps"] > 0 and results["run_yuv420"]["fps"] > 0
    assert (results["map_numpy"]["uploads"], results["map_numpy"]["downloads"]) == (1.0, 1.0)
    assert (results["map_torch"]["uploads"], results["map_torch"]["downloads"]) == (0.0, 0.0)
    assert "Processor.map, torch on cpu" in done.stdout


def test_map_over_arrays_that_tell_no_shape_takes_a_change_of_size():
    rng = np.random.default_rng()
    frames = random_frames(rng, 3, 6, 8) + random_frames(rng, 3, 10, 4)
    proc = pynference.Processor("synthetic:x2", device="cpu", slots=4)
    got = list(proc.map(Exported(f) for f in frames))
    for out, frame in zip(got, frames):
        np.testing.assert_array_equal(out, proc(frame))
