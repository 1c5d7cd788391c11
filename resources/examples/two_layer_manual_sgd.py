"""A two-layer network fitted to a noisy cubic by hand: tensors that require grad, a loss,
backward(), and plain SGD written out under torch.no_grad().

Runs unchanged under PyTorch; in gradstudio (File > Open, or `gradstudio two_layer_manual_sgd.py`)
the last iteration's graph appears on the canvas and its backward pass can be stepped.
"""
import torch

torch.manual_seed(0)

# 64 points of y = x^3 - x with a little noise
x = torch.linspace(-1.5, 1.5, 64).unsqueeze(1)
y = x ** 3 - x + 0.05 * torch.randn(64, 1)

hidden = 16
w1 = (0.5 * torch.randn(1, hidden)).requires_grad_()
b1 = torch.zeros(hidden, requires_grad=True)
w2 = (0.5 * torch.randn(hidden, 1)).requires_grad_()
b2 = torch.zeros(1, requires_grad=True)
learning_rate = 0.1

for step in range(300):
    h = torch.tanh(x @ w1 + b1)          # hidden layer
    y_hat = h @ w2 + b2                  # output layer
    loss = ((y_hat - y) ** 2).mean()

    loss.backward()                      # fills w1.grad, b1.grad, w2.grad, b2.grad

    with torch.no_grad():                # the update itself is not part of the graph
        for p in (w1, b1, w2, b2):
            p -= learning_rate * p.grad
            p.grad.zero_()

    if step % 50 == 0 or step == 299:
        print(f"step {step:3d}  loss {loss.item():.6f}")
