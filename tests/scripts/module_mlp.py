"""An nn.Module MLP trained with a DataLoader and an optimizer on synthetic data."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(1)
points = torch.randn(96, 2)
labels = (points[:, 0] * points[:, 1] > 0).long()


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 12)
        self.fc2 = nn.Linear(12, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = MLP()
optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.5)
loader = DataLoader(TensorDataset(points, labels), batch_size=32, shuffle=False)
losses = []
for epoch in range(4):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        grads = {name: p.grad.tolist() for name, p in model.named_parameters()}
        optimizer.step()
        losses.append(loss.item())
    print(f"epoch {epoch} loss {loss.item():.4f}")

with open("result.json", "w") as f:
    json.dump({"losses": losses, "grads": grads}, f)
