"""The script recorder keeps what the kept pass needs, not one entry per module call of the run:
a long training loop must not grow its memory step after step."""
import engine
from engine.autograd.recording import record_ops
from engine.nn.modules import module as module_mod
from engine.optim import optimizer as optimizer_mod

from gradstudio.runtime.script_record import ScriptRecorder


def train(recorder, steps):
    engine.manual_seed(0)
    model = engine.nn.Sequential(engine.nn.Linear(3, 4), engine.nn.Tanh(),
                                 engine.nn.Sequential(engine.nn.Linear(4, 1)))
    opt = engine.optim.SGD(model.parameters(), lr=0.1)
    x, y = engine.randn(8, 3), engine.randn(8, 1)
    handles = [module_mod.register_module_forward_pre_hook(recorder.on_module_pre),
               module_mod.register_module_forward_hook(recorder.on_module_post),
               optimizer_mod.register_optimizer_step_pre_hook(
                   lambda o, a, k: recorder.on_step())]
    try:
        with record_ops(recorder.on_op):
            for _ in range(steps):
                opt.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                recorder.on_backward(loss)
                loss.backward()
                opt.step()
        recorder.finish()
    finally:
        for h in handles:
            h.remove()


def groups_of(doc):
    return sorted((g.label, doc.groups[g.parent].label if g.parent else None)
                  for g in doc.groups.values())


def test_module_calls_do_not_grow_with_the_number_of_steps():
    short, long = ScriptRecorder(), ScriptRecorder()
    train(short, 3)
    train(long, 60)
    assert long.passes == 60
    # 5 module calls per step: the last pass's (and its enclosing calls), not 300
    assert len(long.module_calls) == len(short.module_calls) <= 10
    assert groups_of(long.document()) == groups_of(short.document())
    assert {"0", "1", "2", "2.0"} <= {label for label, _ in groups_of(long.document())}


def test_a_chosen_early_iteration_keeps_its_module_groups():
    first, last = ScriptRecorder(keep=1), ScriptRecorder()
    train(first, 40)
    train(last, 40)
    assert first.kept_index == 1 and len(first.module_calls) <= 10
    assert groups_of(first.document()) == groups_of(last.document())
