"""The training loop on in-memory samples: events, validation every N steps, the best validated weights
kept, early stopping (patience, time budget), determinism, cancel + exact resume, DDP."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from avs_studio.training.checkpoint import CheckpointError, load_checkpoint, load_student
from avs_studio.training.loop import DistInfo, LoopOptions, evaluate, fit
from tests.unit.training.toy import tiny_config, toy_samples

OPTS = dict(epochs=2, batch_size=8, lr=3e-3, seed=5, val_every=2)


def _run(tmp, train, val=None, stop_after=None, resume_state=None, **opts):
    events = []

    def should_stop():
        return stop_after is not None and sum(e["event"] == "step" for e in events) >= stop_after

    result = fit(
        tiny_config(),
        train,
        val,
        LoopOptions(**{**OPTS, **opts}),
        tmp,
        events.append,
        should_stop=should_stop,
        resume_state=resume_state,
    )
    return result, events


def test_events_checkpoints_and_the_best_model(tmp_path):
    train, val = toy_samples(16), toy_samples(8, seed=9)
    result, events = _run(tmp_path, train, val, epochs=None, steps=10, lr=1e-2, patience=0)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert events[0]["total_steps"] == 10 and events[0]["sound_classes"] == 4  # an audio-class head
    assert kinds.count("step") == 10 and kinds.count("epoch") == 5  # 16 frames / batch 8: 2 steps an epoch
    vals = [e for e in events if e["event"] == "val"]
    assert [e["step"] for e in vals] == [2, 4, 6, 8, 10] and kinds.count("checkpoint") == 5
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 11)) and steps[-1]["eta_s"] == 0
    assert all(e["audio_class_loss"] > 0 for e in steps)
    assert all(0 <= e["val_miou"] <= 1 and 0 <= e["val_f"] <= 1 for e in vals)
    best = max(vals, key=lambda e: (e["val_miou"], -e["step"]))
    done = events[-1]
    assert (done["val_miou"], done["best_step"]) == (best["val_miou"], best["step"])
    assert done["last_val_miou"] == vals[-1]["val_miou"] and done["stopped"] == "steps"
    assert result.status == "done" and result.path == tmp_path / "model.pt"
    model, state = load_student(result.path)
    assert state["metrics"]["val_miou"] == best["val_miou"] and model.config.audio_classes == 4
    # the kept weights are the best validated ones: they score exactly that again
    assert evaluate(model, val)["miou"] == pytest.approx(best["val_miou"], abs=1e-6)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert (ckpt["epoch"], ckpt["batch"], ckpt["step"]) == (5, 0, 10) and ckpt["best"]["step"] == best["step"]
    x = torch.rand(2, 3, 32, 32)
    a = torch.randn(2, 64, 20)
    assert model(x, a).shape == (2, 1, 32, 32)
    logits, heard = model(x, a, with_audio_logits=True)
    assert heard.shape == (2, 4)


def test_patience_and_time_budget_stop_early(tmp_path):
    train, val = toy_samples(16), toy_samples(4, seed=9)
    # lr 0: the weights never change, so no validation after the first is better
    result, events = _run(tmp_path / "p", train, val, epochs=None, steps=20, lr=0.0, patience=2)
    stop = next(e for e in events if e["event"] == "early_stop")
    assert (stop["reason"], stop["step"]) == ("patience", 6)  # validated at 2 (best), 4, 6
    assert result.metrics["stopped"] == "patience" and result.metrics["steps"] == 6
    assert result.metrics["best_step"] == 2 and events[-1]["event"] == "done"
    result, events = _run(tmp_path / "t", train, val, epochs=None, steps=20, time_budget=0.0)
    stop = next(e for e in events if e["event"] == "early_stop")
    assert (stop["reason"], stop["step"]) == ("time_budget", 1) and result.metrics["steps"] == 1
    assert [e["step"] for e in events if e["event"] == "val"] == [1]  # validated before stopping
    assert load_student(result.path)[1]["metrics"]["stopped"] == "time_budget"


def test_same_seed_same_run(tmp_path):
    train = toy_samples(16)
    _, e1 = _run(tmp_path / "a", train)
    _, e2 = _run(tmp_path / "b", train)
    _, e3 = _run(tmp_path / "c", train, seed=6)
    losses = [[e["loss"] for e in ev if e["event"] == "step"] for ev in (e1, e2, e3)]
    assert losses[0] == losses[1] != losses[2]


def test_cancel_then_resume_matches_an_uninterrupted_run(tmp_path):
    train, val = toy_samples(24), toy_samples(4, seed=9)
    full, full_events = _run(tmp_path / "full", train, val, epochs=2)
    cut, cut_events = _run(tmp_path / "cut", train, val, epochs=2, stop_after=3)
    assert cut.status == "cancelled" and [e["event"] for e in cut_events][-2:] == ["checkpoint", "cancelled"]
    state = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert (state["epoch"], state["batch"], state["step"]) == (1, 0, 3)  # 3 steps an epoch
    assert state["ema"] is not None and state["best"]["step"] == 2
    resumed, resumed_events = _run(tmp_path / "cut", train, val, epochs=2, resume_state=state)
    assert resumed.status == "done"
    first = [e["loss"] for e in full_events if e["event"] == "step"]
    second = [e["loss"] for e in cut_events + resumed_events if e["event"] == "step"]
    assert second == pytest.approx(first, rel=1e-5)
    vals = lambda ev: [e["step"] + e["val_f"] for e in ev if e["event"] == "val"]  # noqa: E731
    assert vals(cut_events + resumed_events) == pytest.approx(vals(full_events), rel=1e-5)
    a = torch.load(full.path, weights_only=True)["model"]
    b = torch.load(resumed.path, weights_only=True)["model"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_missing_and_corrupt_checkpoint_name_the_file(tmp_path):
    missing = tmp_path / "nope" / "checkpoint.pt"
    with pytest.raises(CheckpointError, match="nope/checkpoint.pt.*not found"):
        load_checkpoint(missing)
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"\x80\x04 this is not a checkpoint")
    with pytest.raises(CheckpointError, match=r"checkpoint\.pt.*corrupt"):
        load_checkpoint(bad)
    torch.save({"hello": 1}, bad)
    with pytest.raises(CheckpointError, match="not an AVS Studio student checkpoint"):
        load_student(bad)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, out_dir, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        events = []
        fit(
            tiny_config(),
            toy_samples(16),
            None,
            LoopOptions(**OPTS),
            out_dir,
            events.append,
            info=DistInfo(rank, world, rank),
        )
        queue.put((rank, [e["loss"] for e in events if e["event"] == "step"], len(events)))
        dist.barrier()  # neither rank tears gloo down while the other still talks to it
    finally:
        dist.destroy_process_group()


def test_ddp_two_cpu_processes_match_single_process(tmp_path):
    _, single = _run(tmp_path / "single", toy_samples(16))
    single_losses = [e["loss"] for e in single if e["event"] == "step"]
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    mp.start_processes(
        _ddp_worker, args=(2, _free_port(), tmp_path / "ddp", queue), nprocs=2, start_method="spawn"
    )
    results = sorted(queue.get() for _ in range(2))
    (r0, losses, n0), (r1, _, n1) = results
    assert (r0, r1) == (0, 1) and n0 > 0 and n1 == 0  # only rank 0 emits
    assert losses == pytest.approx(single_losses, rel=1e-4, abs=1e-5)
    ddp = torch.load(tmp_path / "ddp" / "model.pt", weights_only=True)["model"]
    one = torch.load(tmp_path / "single" / "model.pt", weights_only=True)["model"]
    assert all(torch.allclose(ddp[k], one[k], atol=1e-4) for k in one)
