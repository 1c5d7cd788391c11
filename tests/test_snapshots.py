"""Per-step snapshots of a training run: the last steps all kept, older ones thinned, never
more than the budget; a step no longer held says so; the diff names the layer whose gradient
jumped and by how much."""
import numpy as np
import pytest

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.runtime import Session
from gradstudio.runtime.snapshots import SnapshotStore, ranges
from gradstudio.runtime.training import Trainer


def parts(step, grad_scale=1.0, size=250):
    """A fake step: fc.weight (size floats) with its grad, and fc's output."""
    weight = np.full(size, float(step), np.float32)
    grad = np.full(size, grad_scale, np.float32)
    return {"fc.weight": (weight, grad)}, {"fc": np.full(4, float(step), np.float32)}


def test_the_budget_is_never_exceeded_and_recent_steps_are_all_kept():
    one = 250 * 4 * 2 + 16                               # bytes of one fake snapshot
    store = SnapshotStore(budget_bytes=30 * one, full_last=10)
    for step in range(200):
        assert store.record(step, 1.0, parts(step))
        assert store.bytes_used <= store.budget
    held = store.steps()
    assert len(held) == 30 and held[-10:] == list(range(190, 200))
    older = held[:-10]
    assert older[0] == 0 and older[-1] < 190             # spread over the run
    gaps = np.diff(older)
    assert gaps.max() <= 4 * gaps.min() + 4              # thinned evenly, not only the start


def test_shrinking_the_budget_drops_snapshots_at_once():
    store = SnapshotStore(budget_bytes=10 ** 6, full_last=5)
    for step in range(50):
        store.record(step, 1.0, parts(step))
    store.set_budget(5000)
    assert store.bytes_used <= 5000 and len(store.steps()) == 2


def test_a_snapshot_larger_than_the_budget_is_not_kept():
    store = SnapshotStore(budget_bytes=100)
    assert not store.record(0, 1.0, parts(0)) and store.steps() == []
    assert store.dropped_too_large == 1


def test_a_step_no_longer_held_gives_none_and_the_diff_names_the_jump():
    store = SnapshotStore(budget_bytes=10 ** 6, full_last=5)
    store.record(6, 0.5, parts(6, grad_scale=0.01))
    store.record(7, 9.0, parts(7, grad_scale=0.35))
    assert store.get(3) is None and store.diff(3) is None
    diff = store.diff(7)
    assert diff.before == 6 and diff.headline() == "step 7: loss 0.5 → 9 from step 6"
    fc = diff.nodes[0]
    assert fc.label == "fc" and fc.grad_factor == pytest.approx(35, rel=1e-3)
    assert fc.text().startswith("fc: gradient norm jumped ×35 (0.158 → 5.53)")
    assert "weights moved by 15.8" in fc.text() and "output mean 6 → 7" in fc.text()


def test_ranges_reads_well():
    assert ranges([0, 40, 100, 101, 102]) == "0, 40, 100-102" and ranges([]) == "none"


def test_a_trainer_keeps_each_step_before_its_update():
    session = Session(fileio.load(EXAMPLES / "xor.json"))
    trainer = Trainer(session)
    trainer.run(12)
    store = trainer.snapshots
    assert store.steps() == list(range(12)) and store.bytes_used <= store.budget
    first, second = store.get(0), store.get(1)
    weight0, grad0 = first.parameters["hidden.weight"]
    lr = trainer.setup.optimizer.lr
    # SGD's first step (its momentum buffer starts as the gradient): the weight step 1 saw
    # is step 0's minus lr * step 0's gradient, so step 0 was kept before its update
    assert trainer.setup.optimizer.kind == "sgd"
    assert np.allclose(second.parameters["hidden.weight"][0], weight0 - lr * grad0, atol=1e-6)
    assert set(first.outputs) >= {"hidden", "tanh", "logit", "loss"}
    assert store.diff(11).before == 10


def reference_thinning(steps, sizes, budget, full_last):
    """The thinning rule in its plain form: while over budget, of the steps older than the
    last full_last (when more than two), the one (not the oldest) whose neighbours are closest
    goes, the oldest of a tie; otherwise the oldest step."""
    held, used = {}, 0
    for step, size in zip(steps, sizes):
        used += size - held.pop(step, 0)
        held[step] = size
        while used > budget and held:
            order = sorted(held)
            older = len(order) - full_last
            if older > 2:
                victim = min((order[i + 1] - order[i - 1], order[i]) for i in range(1, older))[1]
            else:
                victim = order[0]
            used -= held.pop(victim)
    return sorted(held)


@pytest.mark.parametrize("seed", range(4))
def test_thinning_keeps_what_the_plain_rule_keeps(seed):
    rng = np.random.default_rng(seed)
    steps = list(range(300))
    if seed % 2:                      # some steps recorded again, some out of order
        steps += [int(s) for s in rng.integers(0, 300, 40)] + list(range(300, 400))
    sizes = [int(s) for s in rng.integers(1, 4, len(steps)) * 8]
    store = SnapshotStore(budget_bytes=8 * 60, full_last=7)
    for step, size in zip(steps, sizes):
        store.record(step, 0.0, ({}, {"x": np.zeros(size // 8, np.float64)}))
        assert store.bytes_used <= store.budget
    assert store.steps() == reference_thinning(steps, sizes, 8 * 60, 7)


def test_a_snapshot_gives_back_the_arrays_it_copied_whatever_their_dtypes():
    """One buffer per step holds float32 of odd sizes, float64, int64, bool and a missing
    grad; each comes back equal, with its shape and dtype, and later changes to the
    originals do not reach it."""
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((3, 5)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    parameters = {"fc.weight": (weight, weight * 2), "fc.bias": (bias, None),
                  "w": (np.arange(7, dtype=np.float64)[::2], np.ones(4))}
    outputs = {"fc": rng.standard_normal((2, 3)).astype(np.float32),
               "argmax": np.array([2, 0], np.int64), "mask": np.array([True, False, True]),
               "loss": np.float32(0.25) * np.ones((), np.float32)}
    store = SnapshotStore()
    store.record(3, 0.5, (parameters, outputs))
    original = weight.copy()
    weight += 100
    snap = store.get(3)
    for name, (value, grad) in parameters.items():
        kept_value, kept_grad = snap.parameters[name]
        expected = original if name == "fc.weight" else value
        assert kept_value.dtype == value.dtype and np.array_equal(kept_value, expected)
        assert (kept_grad is None) == (grad is None)
        if grad is not None:
            assert kept_grad.dtype == grad.dtype and np.array_equal(kept_grad, grad)
    for label, value in outputs.items():
        assert snap.outputs[label].dtype == value.dtype and snap.outputs[label].shape == value.shape
        assert np.array_equal(snap.outputs[label], value)
    assert store.bytes_used == snap.nbytes and snap.nbytes >= sum(
        a.nbytes for v, g in parameters.values() for a in (v, g) if a is not None)


def test_a_dropped_snapshots_buffer_is_reused_only_when_nobody_holds_it():
    store = SnapshotStore(budget_bytes=3 * 2016, full_last=10)    # the oldest goes
    for step in range(3):
        store.record(step, 1.0, parts(step))
    held = store.get(0)                         # someone (the Step dock) holds step 0
    store.record(3, 1.0, parts(3))              # step 0 goes: its buffer is not reused
    assert store.steps() == [1, 2, 3] and store.spare_buffer(2016) is None
    assert held.parameters["fc.weight"][0][0] == 0
    address = store._snaps[1]._packed.buffer.ctypes.data      # (an int: holds nothing)
    store.record(4, 1.0, parts(4))              # step 1 goes, held by nobody: kept aside
    store.record(5, 1.0, parts(5))              # and step 5 is copied into it
    assert store._snaps[5]._packed.buffer.ctypes.data == address
    kept = store.get(4).parameters["fc.weight"][0]
    for step in range(6, 12):                   # later copies never write into what is read
        store.record(step, 1.0, parts(step))
    assert (kept == 4).all() and (held.parameters["fc.weight"][0] == 0).all()
