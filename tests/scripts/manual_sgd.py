"""Two-layer net trained by hand: tensors, autograd, and an update under no_grad."""
import json

import torch

torch.manual_seed(0)
x = torch.randn(16, 3)
y = torch.sin(x.sum(dim=1, keepdim=True))
w1 = torch.randn(3, 8, requires_grad=True)
b1 = torch.zeros(8, requires_grad=True)
w2 = torch.randn(8, 1, requires_grad=True)
lr = 0.05
losses = []
for step in range(20):
    hidden = torch.tanh(x @ w1 + b1)
    pred = hidden @ w2
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    losses.append(loss.item())
    grads = {name: t.grad.tolist() for name, t in (("w1", w1), ("b1", b1), ("w2", w2))}
    with torch.no_grad():
        for t in (w1, b1, w2):
            t -= lr * t.grad
            t.grad.zero_()

with open("result.json", "w") as f:
    json.dump({"losses": losses, "grads": grads}, f)
