"""engine.autograd.profiler / engine.profiler: every engine op run inside a profile is timed
and summed per name as PyTorch's profiler tables show them."""
import json

import pytest

import engine
from engine.autograd.profiler import profile, record_function


def _model():
    engine.manual_seed(0)
    return engine.nn.Sequential(engine.nn.Linear(8, 4), engine.nn.ReLU(), engine.nn.Linear(4, 2))


def test_ops_are_counted_timed_and_nested_in_ranges():
    model, x = _model(), engine.randn(5, 8)
    with profile(record_shapes=True) as prof:
        with record_function("forward"):
            y = model(x)
        loss = (y * y).sum()
    events = prof.function_events
    names = [e.name for e in events]
    assert names == ["forward", "aten::linear", "aten::relu", "aten::linear", "aten::mul", "aten::sum"]
    forward = events[0]
    assert [c.name for c in forward.cpu_children] == names[1:4]
    assert all(e.cpu_parent is forward for e in events[1:4]) and events[4].cpu_parent is None
    assert all(e.cpu_time_total >= 0 for e in events)
    inner = sum(c.cpu_time_total for c in forward.cpu_children)
    assert forward.self_cpu_time_total == pytest.approx(forward.cpu_time_total - inner)
    assert events[1].input_shapes == [[5, 8], [4, 8], [4]]
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["aten::linear"].count == 2 and averages["aten::mul"].count == 1
    assert averages["aten::linear"].cpu_time_total == pytest.approx(
        events[1].cpu_time_total + events[3].cpu_time_total)
    assert prof.self_cpu_time_total == pytest.approx(sum(e.self_cpu_time_total for e in events))
    assert loss.requires_grad


def test_table_has_torchs_columns_and_order():
    model, x = _model(), engine.randn(5, 8)
    with profile(record_shapes=True) as prof:
        model(x)
    text = prof.key_averages().table(sort_by="cpu_time_total", row_limit=2)
    lines = text.splitlines()
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%",
                                "CPU", "total", "CPU", "time", "avg", "#", "of", "Calls"]
    assert lines[0] == lines[2] == lines[-2] and set(lines[0]) == {"-", " "}
    assert len(lines) == 7 and lines[-1].startswith("Self CPU time total: ")
    rows = [line.split()[0] for line in lines[3:5]]
    totals = {e.key: e.cpu_time_total for e in prof.key_averages()}
    assert rows == sorted(totals, key=totals.get, reverse=True)[:2]
    shaped = prof.key_averages(group_by_input_shape=True).table()
    assert "Input Shapes" in shaped and "[[5, 8], [4, 8], [4]]" in shaped


def test_chrome_trace_and_no_recording_outside(tmp_path):
    x = engine.randn(3)
    with profile() as prof:
        x.exp()
    x.sin()                                   # after the profile: not recorded
    prof.export_chrome_trace(str(tmp_path / "trace.json"))
    trace = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    assert [e["name"] for e in trace] == ["aten::exp"] and trace[0]["ph"] == "X"
    with record_function("alone"):           # no profile active: nothing happens
        x.cos()


def test_torch_profiler_schedule_records_the_active_steps():
    seen = []
    sched = engine.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    x = engine.randn(4)
    with engine.profiler.profile(activities=[engine.profiler.ProfilerActivity.CPU], schedule=sched,
                                 on_trace_ready=lambda p: seen.append(
                                     [e.name for e in p.events()])) as prof:
        for step in range(6):
            for _ in range(step + 1):
                x.exp()
            prof.step()
    assert seen == [["aten::exp"] * (3 + 4)]          # steps 2 and 3 (0-based) were active


def test_table_columns_match_torchs():
    torch = pytest.importorskip("torch")
    with torch.autograd.profiler.profile() as tprof:
        torch.ones(3).exp()
    with profile() as prof:
        engine.ones(3).exp()
    theirs = tprof.key_averages().table().splitlines()[1]
    mine = prof.key_averages().table().splitlines()[1]
    assert mine.split() == theirs.split()


def test_profile_memory_counts_the_new_arrays_each_op_returns():
    x = engine.ones(100, 10)                          # float32: 4000 bytes
    with profile(profile_memory=True) as prof:
        with record_function("block"):
            y = x * 2                                 # a new 4000-byte array
            y.view(10, 100)                           # a view: no new memory
            y.sum(0)                                  # 40 bytes
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["aten::mul"].self_cpu_memory_usage == 4000
    assert averages["aten::view"].self_cpu_memory_usage == 0
    assert averages["block"].cpu_memory_usage == 4040 and averages["block"].self_cpu_memory_usage == 0
    table = prof.key_averages().table(sort_by="self_cpu_memory_usage")
    assert table.splitlines()[1].split()[-8:] == ["CPU", "Mem", "Self", "CPU", "Mem", "#", "of",
                                                   "Calls"]
    assert "3.91 Kb" in table


def test_backward_nodes_are_timed_events():
    x = engine.randn(4, 3, requires_grad=True)
    with profile() as prof:
        (x.exp() * 2).sum().backward()
    names = [e.name for e in prof.function_events]
    assert names[:3] == ["aten::exp", "aten::mul", "aten::sum"]
    assert names[3:] == ["autograd::engine::evaluate_function: SumBackward0",
                         "autograd::engine::evaluate_function: MulBackward0",
                         "autograd::engine::evaluate_function: ExpBackward0"]
    assert all(e.cpu_time_total >= 0 for e in prof.function_events)
