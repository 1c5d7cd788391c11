"""The gradient snippets of the seed tutorials (/work/shared/seeds/*.txt), run with
`import engine as torch`: they must print what PyTorch 2.13 prints (recorded below, and compared
live when torch is installed); the snippets that build nn.Linear layers are seeded, and the
engine's layers start from PyTorch's exact weights. Object addresses are masked; a tutorial bug that makes PyTorch
raise (backward twice) must raise the same error here."""
import contextlib
import io
import re

import pytest

import engine


SNIPPETS = {
    'basics_example1': '\nx = torch.tensor(2.0, requires_grad=True)\ny = torch.tensor(3.0, requires_grad=True)\nz = x * y + y**2\nz.backward()\nprint(f"Gradient of x: {x.grad}")\nprint(f"Gradient of y: {y.grad}")\n',
    'basics_exercise1': '\nx = torch.tensor(3.0, requires_grad=True)\ny = 3 * x**3 + 2 * x**2 + x\ny.backward()\nprint(f"Gradient of x: {x.grad}")\n',
    'basics_exercise2': '\nw = torch.tensor(1.0, requires_grad=True)\nloss = (w - 5)**2\nloss.backward()\nlearning_rate = 0.1\nwith torch.no_grad():\n    w -= learning_rate * w.grad\nprint(f"Updated value of w: {w}")\nprint(w)\n',
    'autograd_ab': '\na=torch.tensor([1,4])\nb=torch.tensor([5,2])\nprint(a.grad,a.requires_grad)\nprint(b.grad,b.requires_grad)\na=torch.tensor([1.,4.],requires_grad=True)\nb=torch.tensor([5.,2.],requires_grad=True)\nprint(a.grad,a.requires_grad)\nprint(b.grad,b.requires_grad)\nc=2*a**6-b**9\nprint(a.grad)\nc.backward(gradient=torch.tensor([1.,1.]))\nprint(a.grad)\nprint(b.grad)\nprint(c)\n',
    'howto_square': '\nx = torch.tensor([2.0], requires_grad=True)\ny = x ** 2\ny.backward()\nprint(x.grad)\n',
    'guide_basic': '\nx = torch.tensor([2.0], requires_grad=True)\ny = torch.tensor([3.0], requires_grad=True)\nz = x**2 + y**3\nz.backward()\nprint(f"dz/dx: {x.grad}")\nprint(f"dz/dy: {y.grad}")\n',
    'guide_accumulation': '\nx = torch.tensor([1.0], requires_grad=True)\ny = x**2\ny.backward()\nprint(f"Gradient after first backward: {x.grad}")\nz = 2 * x\nz.backward()\nprint(f"Gradient after second backward: {x.grad}")\nx.grad.zero_()\nprint(f"Gradient after reset: {x.grad}")\n',
    'guide_detach': '\nx = torch.tensor([2.0], requires_grad=True)\ny = x * 3\nz = y.detach()\nz = z * 2\ntry:\n    z.backward()\nexcept RuntimeError as e:\n    print("RuntimeError:", e)\nprint(f"x.grad: {x.grad}")\ny = x * 3\nz = y * 2\nz.backward()\nprint(f"x.grad after normal backward: {x.grad}")\n',
    'guide_no_grad': '\nx = torch.tensor([2.0], requires_grad=True)\nwith torch.no_grad():\n    y = x * 3\n    z = y * 2\n    print(f"Does z require gradients? {z.requires_grad}")\ny = x * 3\nz = y * 2\nprint(f"Does z require gradients now? {z.requires_grad}")\n',
    'guide_non_scalar': '\nx = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)\ny = x**2\nz = y.sum()\nz.backward()\nprint(f"Gradient when using sum: {x.grad}")\nx.grad.zero_()\ntry:\n    y.backward(torch.ones_like(y))\nexcept RuntimeError as e:\n    print("RuntimeError:", e)\ny = x**2\ny.backward(torch.ones_like(y))\nprint(f"Gradient with explicit grad_outputs: {x.grad}")\n',
    'notes_part1': '\nx=torch.tensor([3.0], requires_grad=True)\ny = torch.pow(x, 2)\ny.backward(retain_graph=True)\nprint(x.grad)\nx=torch.tensor([3.0], requires_grad=True)\ny = torch.pow(x, 2)\ngrad_1 = torch.autograd.grad(y, x, create_graph=True)\nprint(grad_1[0].item())\nprint(grad_1)\ngrad_2 = torch.autograd.grad(grad_1[0], x)\nprint(grad_2)\n',
    'notes_accumulate': '\nw = torch.tensor([1.], requires_grad=True)\nx = torch.tensor([2.], requires_grad=True)\nfor i in range(4):\n    a = torch.add(w, x)\n    b = torch.add(w, 1)\n    y = torch.mul(a, b)\n    y.backward()\n    print(w.grad)\n    w.grad.zero_()\n',
    'notes_grad_fn': '\nimport warnings\nwarnings.simplefilter("ignore")\nw = torch.tensor([1.], requires_grad=True)\nx = torch.tensor([2.], requires_grad=True)\na = torch.add(w, x)\nb = torch.add(w, 1)\ny = torch.mul(a, b)\ny.backward()\nprint("is_leaf:\\n", w.is_leaf, x.is_leaf, a.is_leaf, b.is_leaf, y.is_leaf)\nprint("gradient:\\n", w.grad, x.grad, a.grad, b.grad, y.grad)\nprint("w.grad_fn = ", w.grad_fn)\nprint("x.grad_fn = ", x.grad_fn)\nprint("a.grad_fn = ", a.grad_fn)\nprint("b.grad_fn = ", b.grad_fn)\nprint("y.grad_fn = ", y.grad_fn)\n',
    'notes_disable': '\nx = torch.ones(5)\nw = torch.randn(5, 3, requires_grad=True)\nb = torch.randn(3, requires_grad=True)\nz = torch.matmul(x, w)+b\nz_det = z.detach()\nprint(z_det.requires_grad)\nprint(z.requires_grad)\nwith torch.no_grad():\n    z = torch.matmul(x, w)+b\nprint(z.requires_grad)\n',
    'notes_regression': '\ntorch.manual_seed(10)\nlr = 0.05\nx = torch.rand(20, 1) * 10\ny = 2*x + (5 + torch.randn(20, 1))\nw = torch.randn((1), requires_grad=True)\nb = torch.zeros((1), requires_grad=True)\nfirst = None\nfor iteration in range(1000):\n    wx = torch.mul(w, x)\n    y_pred = torch.add(wx, b)\n    loss = (0.5 * (y - y_pred) ** 2).mean()\n    loss.backward()\n    b.data.sub_(lr * b.grad)\n    w.data.sub_(lr * w.grad)\n    w.grad.zero_()\n    b.grad.zero_()\n    first = loss.item() if first is None else first\n    if loss.data.numpy() < 1:\n        break\nprint("converged:", loss.item() < 1 or loss.item() < first, x.data.numpy().shape, y_pred.data.numpy().shape)\n',
    'notes_jacobian': '\ninp = torch.eye(5, requires_grad=True)\nprint(inp.shape)\nout = (inp+1).pow(2)\nprint(out.shape)\nout.backward(torch.ones_like(inp), retain_graph=True)\nprint("First call\\n", inp.grad)\nout.backward(torch.ones_like(inp), retain_graph=True)\nprint("\\nSecond call\\n", inp.grad)\ninp.grad.zero_()\nout.backward(torch.ones_like(inp), retain_graph=True)\nprint("\\nCall after zeroing gradients\\n", inp.grad)\n',
    'basics_linear_model': '\nnn = torch.nn\ntorch.manual_seed(0)\nmodel = nn.Linear(1, 1)\ninput_tensor = torch.tensor([[1.0]], requires_grad=True)\noutput = model(input_tensor)\nloss = (output - 2.0)**2\nloss.backward()\nprint(f"Gradient of input_tensor: {input_tensor.grad}")\nprint(f"Gradient of model weight: {model.weight.grad}")\nprint(f"Gradient of model bias: {model.bias.grad}")\n',
    'guide_simple_nn': '\nnn = torch.nn\ntorch.manual_seed(0)\nclass SimpleNN(nn.Module):\n    def __init__(self):\n        super(SimpleNN, self).__init__()\n        self.linear1 = nn.Linear(2, 3)\n        self.linear2 = nn.Linear(3, 1)\n        self.relu = nn.ReLU()\n    def forward(self, x):\n        x = self.relu(self.linear1(x))\n        x = self.linear2(x)\n        return x\nmodel = SimpleNN()\ninputs = torch.tensor([[0.5, 0.3]], dtype=torch.float32)\ntargets = torch.tensor([[0.7]], dtype=torch.float32)\noutputs = model(inputs)\nloss = (outputs - targets).pow(2).sum()\nloss.backward()\nfor name, param in model.named_parameters():\n    print(f"Parameter: {name}, Size: {param.size()}")\n    print(f"Gradient: {param.grad}")\n',
}

EXPECTED = {
    'basics_example1': 'Gradient of x: 3.0\nGradient of y: 8.0\n',
    'basics_exercise1': 'Gradient of x: 94.0\n',
    'basics_exercise2': 'Updated value of w: 1.7999999523162842\ntensor(1.8000, requires_grad=True)\n',
    'autograd_ab': 'None False\nNone False\nNone True\nNone True\nNone\ntensor([1.2000e+01, 1.2288e+04])\ntensor([-3.5156e+06, -2.3040e+03])\ntensor([-1953123.,     7680.], grad_fn=<SubBackward0>)\n',
    'howto_square': 'tensor([4.])\n',
    'guide_basic': 'dz/dx: tensor([4.])\ndz/dy: tensor([27.])\n',
    'guide_accumulation': 'Gradient after first backward: tensor([2.])\nGradient after second backward: tensor([4.])\nGradient after reset: tensor([0.])\n',
    'guide_detach': 'RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn\nx.grad: None\nx.grad after normal backward: tensor([6.])\n',
    'guide_no_grad': 'Does z require gradients? False\nDoes z require gradients now? True\n',
    'guide_non_scalar': 'Gradient when using sum: tensor([[2., 4.],\n        [6., 8.]])\nRuntimeError: Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.\nGradient with explicit grad_outputs: tensor([[2., 4.],\n        [6., 8.]])\n',
    'notes_part1': 'tensor([6.])\n6.0\n(tensor([6.], grad_fn=<MulBackward0>),)\n(tensor([2.]),)\n',
    'notes_accumulate': 'tensor([5.])\ntensor([5.])\ntensor([5.])\ntensor([5.])\n',
    'notes_grad_fn': 'is_leaf:\n True True False False False\ngradient:\n tensor([5.]) tensor([2.]) None None None\nw.grad_fn =  None\nx.grad_fn =  None\na.grad_fn =  <AddBackward0 object at 0x...>\nb.grad_fn =  <AddBackward0 object at 0x...>\ny.grad_fn =  <MulBackward0 object at 0x...>\n',
    'notes_disable': 'False\nTrue\nFalse\n',
    'notes_regression': 'converged: True (20, 1) (20, 1)\n',
    'notes_jacobian': 'torch.Size([5, 5])\ntorch.Size([5, 5])\nFirst call\n tensor([[4., 2., 2., 2., 2.],\n        [2., 4., 2., 2., 2.],\n        [2., 2., 4., 2., 2.],\n        [2., 2., 2., 4., 2.],\n        [2., 2., 2., 2., 4.]])\n\nSecond call\n tensor([[8., 4., 4., 4., 4.],\n        [4., 8., 4., 4., 4.],\n        [4., 4., 8., 4., 4.],\n        [4., 4., 4., 8., 4.],\n        [4., 4., 4., 4., 8.]])\n\nCall after zeroing gradients\n tensor([[4., 2., 2., 2., 2.],\n        [2., 4., 2., 2., 2.],\n        [2., 2., 4., 2., 2.],\n        [2., 2., 2., 4., 2.],\n        [2., 2., 2., 2., 4.]])\n',
    'basics_linear_model': 'Gradient of input_tensor: tensor([[0.0220]])\nGradient of model weight: tensor([[-2.9421]])\nGradient of model bias: tensor([-2.9421])\n',
    'guide_simple_nn': 'Parameter: linear1.weight, Size: torch.Size([3, 2])\nGradient: tensor([[-0.1920, -0.1152],\n        [ 0.2192,  0.1315],\n        [ 0.0000,  0.0000]])\nParameter: linear1.bias, Size: torch.Size([3])\nGradient: tensor([-0.3839,  0.4385,  0.0000])\nParameter: linear2.weight, Size: torch.Size([1, 3])\nGradient: tensor([[-0.2441, -0.2854,  0.0000]])\nParameter: linear2.bias, Size: torch.Size([1])\nGradient: tensor([-2.5131])\n',
}


def run(src, module):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(src, {"torch": module})
    return re.sub(r" at 0x[0-9a-f]+", " at 0x...", buf.getvalue())


@pytest.mark.parametrize("name", list(SNIPPETS))
def test_seed_snippet_prints_what_pytorch_prints(name):
    assert run(SNIPPETS[name], engine) == EXPECTED[name]


@pytest.mark.parametrize("name", list(SNIPPETS))
def test_seed_snippet_matches_live_pytorch(name):
    torch = pytest.importorskip("torch")
    assert run(SNIPPETS[name], engine) == run(SNIPPETS[name], torch)


OFFICIAL_TUTORIAL = """
torch.manual_seed(0)
x = torch.ones(5)
y = torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w)+b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}")
print(f"Gradient function for loss = {loss.grad_fn}")
loss.backward()
print(w.grad)
print(b.grad)
z = torch.matmul(x, w)+b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w)+b
print(z.requires_grad)
z_det = z.detach()
print(z_det.requires_grad)
inp = torch.eye(4, 5, requires_grad=True)
out = (inp+1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nCall after zeroing gradients\\n{inp.grad}")
from torch.autograd import Variable
v = Variable(torch.ones(2, 2), requires_grad=True)
out = ((v + 2) * (v + 2) * 3).mean()
out.backward()
print(v.grad, out)
print(torch.randn(2, 3, dtype=torch.float64), torch.rand(2, 2) * 100, torch.randint(0, 5, (3,)))
"""


def test_official_autograd_tutorial_prints_the_same_with_the_same_seed():
    """PyTorch's own autograd tutorial, random weights included (the engine's generator
    reproduces PyTorch's CPU streams)."""
    torch = pytest.importorskip("torch")
    src_engine = OFFICIAL_TUTORIAL.replace("from torch.autograd import", "from engine.autograd import")
    assert run(src_engine, engine) == run(OFFICIAL_TUTORIAL, torch)
