"""The engine's recording point (engine.autograd.recording.record_ops): every op in the op table
is seen as records whose names are public op names, whose inputs are the tensors the call
received and whose outputs are the tensors it returned; backward formulas are not recorded."""
import numpy as np
import pytest

import engine
from engine.autograd.recording import OpRecord, record_ops
from tests.test_engine_op_table import OPS, make_inputs

# the name of the record that made the op's result, for ops whose record a reader can predict
EXPECTED_LAST = {
    "add": "add", "add_scalar": "add", "radd_scalar": "add", "sub": "sub", "rsub": "rsub", "mul": "mul",
    "mul_scalar": "mul", "div": "div", "neg": "neg", "pow_scalar": "pow", "square": "pow", "exp": "exp",
    "relu": "relu", "sum_dim": "sum", "matmul_mm": "mm", "mm": "mm",
    "view": "view", "transpose": "transpose", "cat": "cat", "select": "__getitem__", "slice": "__getitem__",
    "inplace_mul": "mul_", "inplace_add": "add_", "inplace_clamp": "clamp_", "relu_inplace": "relu_",
    "gather": "gather", "softmax": "softmax", "var": "var", "clone": "clone",
    "linalg_inv": "inv", "det": "det", "max_dim": "max", "split": "mul",
}


def _public(name):
    spaces = (engine, engine.Tensor, engine.nn.functional)
    return any(hasattr(ns, name) for ns in spaces) or hasattr(engine.linalg, name.removeprefix("linalg_"))


def _run(op, shapes):
    xs = [engine.tensor(a, dtype=engine.float64, requires_grad=True) for a in make_inputs(op, shapes)]
    records = []

    def observer(r):        # a record's grad_fn is its first output's grad_fn when it is made
        assert r.grad_fn is r.outputs[0].grad_fn, f"{op.name}: {r.name} reports another grad_fn"
        records.append(r)
    with record_ops(observer):
        out = op.fn(engine, *xs)
    return xs, out, records


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
def test_every_op_table_op_is_recorded(op):
    xs, out, records = _run(op, op.samples[0])
    assert records, f"{op.name}: no record"
    known = {id(x) for x in xs}
    for r in records:
        assert isinstance(r, OpRecord)
        assert _public(r.name), f"{op.name}: record name {r.name!r} is not a public op name"
        assert all(isinstance(t, engine.Tensor) for t in r.inputs + r.outputs)
        # the records form a closed data flow: each input is a leaf of the call or an earlier output
        for t in r.inputs:
            assert id(t) in known, f"{op.name}: {r.name} reads a tensor no earlier record made"
        known.update(id(t) for t in r.outputs)
        o = r.outputs[0]
        if r.grad_fn is None and o.is_floating_point() and any(t.requires_grad for t in r.inputs) and not any(
                t is o for t in r.inputs):
            assert not r.outputs[0].requires_grad, f"{op.name}: {r.name} is connected but reports no grad_fn"
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        makers = [r for r in records if any(t is o for t in r.outputs)]
        assert makers, f"{op.name}: the result is no record's output"
        if len(makers[-1].outputs) == 1 and o._version == 0:
            assert makers[-1].grad_fn is o.grad_fn
    if op.name in EXPECTED_LAST:
        assert [r for r in records if any(t is outs[0] for t in r.outputs)][-1].name == EXPECTED_LAST[op.name]


@pytest.mark.parametrize("op", [o for o in OPS if o.gradgrad][:40], ids=lambda o: o.name)
def test_backward_formulas_are_not_recorded(op):
    xs = [engine.tensor(a, dtype=engine.float64, requires_grad=True) for a in make_inputs(op, op.samples[0])]
    out = op.fn(engine, *xs)
    loss = (out if not isinstance(out, (tuple, list)) else out[0]).sum()
    records = []
    with record_ops(records.append):
        gs = engine.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
        loss.backward(retain_graph=True)
        steps = list(engine.autograd.backward_steps(loss, retain_graph=True))
    assert steps and records == [], [r.name for r in records]
    assert any(g is not None for g in gs)


def test_record_names_inputs_outputs_and_grad_fn():
    a = engine.tensor([1.0, 2.0], requires_grad=True)
    b = engine.tensor([3.0, 4.0])
    records = []
    with record_ops(records.append):
        c = a * b + a
        d = c.view(2, 1)
        d.mul_(2.0)
        d[0] = b[1]
    assert [r.name for r in records] == ["mul", "add", "view", "mul_", "__getitem__", "__setitem__"]
    assert records[-1].inputs[0] is d and records[-1].inputs[1] is records[-2].outputs[0] and records[-1].outputs[0] is d
    records = records[:4]
    mul, add, view, mul_ = records
    assert mul.inputs[0] is a and mul.inputs[1] is b and mul.outputs[0] is add.inputs[0] and add.inputs[1] is a
    assert add.outputs[0] is c and add.grad_fn.name() == "AddBackward0"
    assert c.grad_fn.name() == "CopySlices"      # c changed through its view d, as in PyTorch
    assert view.outputs[0] is d and mul_.inputs[0] is d and mul_.outputs[0] is d
    assert mul_.grad_fn.name() == "AsStridedBackward0"     # d is a view written in place, as in PyTorch


def test_records_under_no_grad_and_without_grad():
    a = engine.ones(3)
    records = []
    with record_ops(records.append):
        b = a.exp()
        with engine.no_grad():
            engine.tensor([1.0], requires_grad=True) * 2
    assert [r.name for r in records] == ["exp", "tensor", "mul"]
    assert all(r.grad_fn is None for r in records) and records[0].outputs[0] is b


def test_nested_observers_both_see_ops_and_stop_after_exit():
    outer, inner = [], []
    a = engine.ones(2, requires_grad=True)
    with record_ops(outer.append):
        a.sin()
        with record_ops(inner.append):
            a.cos()
        a.tan()
    a.exp()
    assert [r.name for r in outer] == ["sin", "cos", "tan"]
    assert [r.name for r in inner] == ["cos"]


def test_ops_inside_an_observer_are_not_recorded_and_errors_propagate():
    seen = []

    def observer(r):
        seen.append(r.name)
        r.outputs[0].sum()         # an observer computing a statistic is not recorded

    a = engine.ones(2)
    with record_ops(observer):
        a + 1
    assert seen == ["add"]

    def broken(r):
        raise ValueError("observer failed")
    with pytest.raises(ValueError, match="observer failed"):
        with record_ops(broken):
            a + 1
    assert (a + 1).tolist() == [2.0, 2.0]


def test_layers_and_custom_functions():
    class Double(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    lin = engine.nn.Linear(3, 2)
    x = engine.randn(4, 3)
    records = []
    with record_ops(records.append):
        y = engine.nn.functional.softplus(lin(x))
        z = Double.apply(y)
    names = [r.name for r in records]
    assert names == ["linear", "softplus", "Double"]
    assert records[0].inputs[0] is x and records[-1].outputs[0] is z
    assert records[-1].grad_fn is z.grad_fn is not None
    z.sum().backward()
    assert np.allclose(lin.weight.grad.numpy().shape, (2, 3))
