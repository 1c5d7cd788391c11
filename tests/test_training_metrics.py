"""Ring buffers and TrainingMetrics: bounded memory, oldest-first reads, versioned snapshots."""
import threading

import numpy as np

from gradstudio.runtime.metrics import (GRAD_LOG10_EDGES, MetricsPublisher, MetricsReceiver,
                                        RingBuffer, SharedRing, TrainingMetrics,
                                        histogram_counts)


def test_ring_buffer_keeps_the_newest_rows_oldest_first():
    buf = RingBuffer(3)
    assert buf.array().shape == (0,) and buf.latest() is None
    for v in (1, 2, 3, 4, 5):
        buf.append(v)
    assert buf.array().tolist() == [3.0, 4.0, 5.0]
    assert len(buf) == 3 and buf.total_appended == 5 and buf.latest() == 5.0


def test_ring_buffer_rows_and_copies():
    buf = RingBuffer(2, row_shape=(4,))
    buf.append(np.arange(4))
    out = buf.array()
    out[0, 0] = 99
    assert buf.array()[0, 0] == 0 and buf.array().shape == (1, 4)


def test_metrics_memory_is_bounded_and_snapshot_is_versioned():
    m = TrainingMetrics(capacity=100, parameter_capacity=10, histogram_capacity=4)
    v0 = m.version
    for step in range(250):
        m.record_step(step, loss=1.0 / (step + 1), lr=0.1, grad_norms={"w": step}, steps_per_sec=5.0)
    m.record_histograms(249, grads={"w": np.array([1e-3, 0.0, 10.0])}, weights={"w": np.zeros(3)})
    m.add_marker(100, "lr 0.1 -> 0.01")
    snap = m.snapshot()
    assert snap.version > v0 and snap.step == 249
    assert snap.loss.steps.tolist() == list(range(150, 250))
    assert snap.grad_norms["w"].values.tolist() == list(range(240, 250))
    assert snap.grad_histograms["w"].counts.shape == (1, len(GRAD_LOG10_EDGES) - 1)
    assert snap.grad_histograms["w"].latest.sum() == 3
    assert snap.markers[0].text == "lr 0.1 -> 0.01"
    assert m.snapshot_if_newer(snap.version) is None
    m.record_validation(250, val_loss=0.5, accuracy=1.0)
    assert m.snapshot_if_newer(snap.version).accuracy.values.tolist() == [1.0]


def test_histogram_counts_bins_by_log_magnitude_and_clamps():
    counts = histogram_counts(np.array([0.0, 1e-20, 1e-5, 1e5, np.nan]), GRAD_LOG10_EDGES, log10_magnitude=True)
    assert counts.sum() == 4 and counts[0] == 2 and counts[-1] == 1


def test_one_writer_one_reader_see_consistent_curves():
    m = TrainingMetrics(capacity=1000)

    def write():
        for step in range(5000):
            m.record_step(step, loss=float(step), lr=0.1)

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        snap = m.snapshot()
        assert len(snap.loss.steps) == len(snap.loss.values)
        assert np.array_equal(snap.loss.steps, snap.loss.values.astype(np.int64))
    writer.join()
    assert m.snapshot().loss.steps[-1] == 4999


def test_snapshot_copies_a_curve_when_first_read_and_shares_unchanged_ones():
    m = TrainingMetrics(capacity=10)
    m.record_step(0, loss=1.0)
    m.record_validation(0, val_loss=2.0)
    first = m.snapshot()
    m.record_step(1, loss=0.5)
    assert first.loss.values.tolist() == [1.0, 0.5]      # read after the write: newer
    loss = first.loss
    m.record_step(2, loss=0.25)
    assert first.loss is loss                            # kept once read
    second = m.snapshot()
    assert second.loss.values.tolist() == [1.0, 0.5, 0.25]
    assert second.val_loss.values is first.val_loss.values   # unchanged: the same arrays


# ------------------------------------------------------------------ between processes
def test_a_shared_ring_hands_frames_over_whole_and_in_order_across_its_end():
    ring = SharedRing(capacity=64)
    assert ring.read() == []
    for round_ in range(10):               # 10 x 2 frames of 4 + 10 bytes pass the end often
        assert ring.write(b"a%09d" % round_) and ring.write(b"b%09d" % round_)
        assert ring.read() == [b"a%09d" % round_, b"b%09d" % round_]
    assert ring.unread == 0


def test_a_full_ring_refuses_a_frame_whole_and_takes_it_once_read():
    ring = SharedRing(capacity=32)
    assert ring.write(b"x" * 20)
    assert not ring.write(b"y" * 10)         # 24 + 14 > 32: nothing of it is written
    assert ring.read() == [b"x" * 20]
    assert ring.write(b"y" * 10) and ring.read() == [b"y" * 10]


def test_the_publisher_replays_the_publishing_api_into_the_readers_metrics():
    ring, local = SharedRing(), TrainingMetrics()
    out, receiver = MetricsPublisher(ring), MetricsReceiver(ring, local)
    for step in range(3):
        out.record_step(step, loss=1.0 / (step + 1), lr=0.1, grad_norms={"w": float(step)})
    out.record_validation(2, val_loss=0.5, accuracy=0.75)
    out.record_histograms(2, grads={"w": np.array([1e-3, 1e-3])}, weights={"w": np.ones(2)})
    out.add_marker(1, "lr 0.1 -> 0.01")
    out.event("state", state="finished")
    assert local.snapshot().step == -1        # nothing travels before a flush
    assert out.flush()
    assert receiver.drain() == [("state", {"state": "finished"})]
    snap = local.snapshot()
    assert snap.loss.steps.tolist() == [0, 1, 2] and snap.grad_norms["w"].values[-1] == 2.0
    assert snap.accuracy.values.tolist() == [0.75]
    assert snap.grad_histograms["w"].latest.sum() == 2 and snap.weighted == ("w",)
    assert [(m.step, m.text) for m in snap.markers] == [(1, "lr 0.1 -> 0.01")]
    direct = TrainingMetrics()                # the same counts as binned in one process
    direct.record_histograms(2, grads={"w": np.array([1e-3, 1e-3])})
    np.testing.assert_array_equal(direct.snapshot().grad_histograms["w"].latest,
                                  snap.grad_histograms["w"].latest)


def test_records_wait_while_the_ring_is_full_and_overflow_is_counted_in_a_marker(monkeypatch):
    ring, local = SharedRing(capacity=4096), TrainingMetrics()
    out, receiver = MetricsPublisher(ring), MetricsReceiver(ring, local)
    monkeypatch.setattr(MetricsPublisher, "MAX_WAITING", 300)
    monkeypatch.setattr(MetricsPublisher, "FLUSH_S", 1e9)     # flushes only when asked
    for step in range(100):
        out.record_step(step, loss=float(step))
    assert out.flush()                         # small: it fits
    for step in range(100, 500):               # the reader is away: 500 > 300 wait at most
        out.record_step(step, loss=float(step))
    while not out.flush():
        receiver.drain()
    receiver.drain()
    snap = local.snapshot()
    assert snap.loss.steps.tolist() == list(range(100)) + list(range(200, 500))
    assert snap.markers[0].text == "100 metric records dropped: the window did not read them"
