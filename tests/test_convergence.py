"""Training runs end to end: the seed tutorials' XOR net, linear regression and logistic
regression (as our users run them with `import engine as torch`), compared with PyTorch from
the same initial weights and data, and an MLP learning the spirals."""
import numpy as np
import pytest

import engine
import engine.nn as enn
from engine import datasets
from engine.utils.data import DataLoader, TensorDataset


def state_of(module):
    """A module's parameters as NumPy arrays by name."""
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def copy_into(module, state):
    module.load_state_dict({k: engine.tensor(v) for k, v in state.items()})


# --- how-to-compute-gradients.txt: the XOR net, MSELoss, SGD(lr=0.1), 5000 epochs --------
def xor_tutorial(torch, initial=None):
    nn, optim = torch.nn, torch.optim
    X = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float)
    y = torch.tensor([[0], [1], [1], [0]], dtype=torch.float)

    class SimpleNet(nn.Module):
        def __init__(self):
            super(SimpleNet, self).__init__()
            self.fc1 = nn.Linear(2, 2)
            self.fc2 = nn.Linear(2, 1)

        def forward(self, x):
            x = torch.sigmoid(self.fc1(x))
            x = torch.sigmoid(self.fc2(x))
            return x

    net = SimpleNet()
    if initial is not None:
        copy_into(net, initial)
    criterion = nn.MSELoss()
    optimizer = optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for epoch in range(5000):
        pred_y = net(X)
        loss = criterion(pred_y, y)
        if (epoch + 1) % 500 == 0:
            losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net, losses, net.fc1.weight.grad


def test_xor_tutorial_follows_pytorch_epoch_for_epoch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs, their_losses, their_grad = xor_tutorial(torch)
    torch.manual_seed(0)
    initial = {f"fc{i}.{k}": v for i, layer in ((1, torch.nn.Linear(2, 2)),
                                                (2, torch.nn.Linear(2, 1)))
               for k, v in state_of(layer).items()}
    ours, our_losses, our_grad = xor_tutorial(engine, initial)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-4)
    np.testing.assert_allclose(our_grad.numpy(), their_grad.numpy(), rtol=1e-2, atol=1e-6)
    assert our_losses[-1] < our_losses[0]


def test_a_wider_xor_net_learns_xor():
    engine.manual_seed(0)
    X = engine.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=engine.float)
    y = engine.tensor([[0], [1], [1], [0]], dtype=engine.float)
    net = enn.Sequential(enn.Linear(2, 8), enn.Tanh(), enn.Linear(8, 1), enn.Sigmoid())
    optimizer = engine.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    for _ in range(500):
        optimizer.zero_grad()
        loss = enn.BCELoss()(net(X), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    np.testing.assert_array_equal((net(X) > 0.5).float().numpy(), y.numpy())


# --- pytorch-gradients-notes.txt 3.1: linear regression with .data.sub_ updates ------------
def regression_tutorial(torch, x, y, w0):
    lr = 0.05
    w = torch.tensor(w0, requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    for iteration in range(100):
        wx = torch.mul(w, x)
        y_pred = torch.add(wx, b)
        loss = (0.5 * (y - y_pred) ** 2).mean()
        loss.backward()
        b.data.sub_(lr * b.grad)
        w.data.sub_(lr * w.grad)
        w.grad.zero_()
        b.grad.zero_()
        if loss.data.numpy() < 1:
            break
    return iteration, loss.item(), w.item(), b.item()


def test_linear_regression_tutorial_matches_pytorch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w0 = torch.randn((1)).numpy()
    theirs = regression_tutorial(torch, x, y, w0)
    ours = regression_tutorial(engine, engine.tensor(x.numpy()), engine.tensor(y.numpy()), w0)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1:], theirs[1:], rtol=1e-4)


def test_linear_regression_tutorial_runs_on_engine_random_data():
    engine.manual_seed(10)
    x = engine.rand(20, 1) * 10
    y = 2 * x + (5 + engine.randn(20, 1))
    iteration, loss, w, b = regression_tutorial(engine, x, y, engine.randn((1)).numpy())
    assert loss < 1.5 and 1.0 < w < 3.0


# --- pytorch-gradients-notes.txt 3.2: logistic regression, BCELoss, SGD with momentum ------
def logistic_tutorial(torch, train_x, train_y, initial=None, iterations=100):
    nn = torch.nn

    class LR(nn.Module):
        def __init__(self):
            super(LR, self).__init__()
            self.features = nn.Linear(2, 1)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            x = self.features(x)
            x = self.sigmoid(x)
            return x

    lr_net = LR()
    if initial is not None:
        copy_into(lr_net, initial)
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(lr_net.parameters(), lr=0.01, momentum=0.9)
    history = []
    for iteration in range(iterations):
        lr_net.train()
        y_pred = lr_net(train_x)
        loss = loss_fn(y_pred.squeeze(), train_y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if iteration % 20 == 0:
            mask = y_pred.ge(0.5).float().squeeze()
            correct = (mask == train_y).sum()
            acc = correct.item() / train_y.size(0)
            history.append((loss.item(), acc))
            if acc > 0.99:
                break
    return lr_net, history


def logistic_data(torch):
    torch.manual_seed(10)
    sample_nums, mean_value, bias = 100, 1.7, 5
    n_data = torch.ones(sample_nums, 2)
    x0 = torch.normal(mean_value * n_data, 1) + bias
    y0 = torch.zeros(sample_nums)
    x1 = torch.normal(-mean_value * n_data, 1) + bias
    y1 = torch.ones(sample_nums)
    return torch.cat((x0, x1), 0), torch.cat((y0, y1), 0)


def test_logistic_regression_tutorial_matches_pytorch():
    torch = pytest.importorskip("torch")
    train_x, train_y = logistic_data(torch)
    torch.manual_seed(1)
    theirs, their_history = logistic_tutorial(torch, train_x, train_y)
    torch.manual_seed(1)
    initial = {f"features.{k}": v for k, v in state_of(torch.nn.Linear(2, 1)).items()}
    ours, our_history = logistic_tutorial(engine, engine.tensor(train_x.numpy()),
                                          engine.tensor(train_y.numpy()), initial)
    np.testing.assert_allclose(np.array(our_history), np.array(their_history), rtol=1e-4)


def test_logistic_regression_tutorial_learns_on_engine_data():
    train_x, train_y = logistic_data(engine)
    _, history = logistic_tutorial(engine, train_x, train_y)
    assert history[-1][0] < history[0][0]               # 100 iterations: the loss falls
    _, history = logistic_tutorial(engine, train_x, train_y, iterations=2000)
    assert history[-1][1] >= 0.98                         # trained longer it separates them


# --- an MLP on the spirals, mini-batches from a DataLoader -----------------------------------
def test_mlp_reaches_95_percent_on_spirals():
    engine.manual_seed(0)
    X, y = datasets.spirals(n_samples=300, noise=0.2, seed=0)
    model = enn.Sequential(enn.Linear(2, 64), enn.ReLU(), enn.Linear(64, 64), enn.ReLU(),
                           enn.Linear(64, 3))
    optimizer = engine.optim.Adam(model.parameters(), lr=0.01)
    scheduler = engine.optim.lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.5)
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
    loss_fn = enn.CrossEntropyLoss()
    for epoch in range(250):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        scheduler.step()
    model.eval()
    with engine.no_grad():
        accuracy = (model(X).argmax(dim=1) == y).float().mean().item()
    assert accuracy >= 0.95
