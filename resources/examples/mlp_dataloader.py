"""An nn.Module MLP that learns which of two interleaved half-moons a point is on, trained
with a DataLoader over synthetic data, nn.CrossEntropyLoss and torch.optim.Adam.

Runs unchanged under PyTorch. In gradstudio each optimizer step is plotted live on the
Training dashboard, and the graph of the last batch appears with one group per module call
(Classifier > body > 0, 1, 2 ...).
"""
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)


def half_moons(n):
    """n points on two interleaved half circles, with their class (0 or 1)."""
    angle = math.pi * torch.rand(n)
    upper = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    lower = torch.stack([1 - torch.cos(angle), 0.5 - torch.sin(angle)], dim=1)
    side = torch.rand(n) < 0.5
    points = torch.where(side.unsqueeze(1), upper, lower) + 0.1 * torch.randn(n, 2)
    return points, side.long()


class Classifier(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(2, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
        )
        self.head = nn.Linear(width, 2)

    def forward(self, points):
        return self.head(self.body(points))


points, classes = half_moons(512)
loader = DataLoader(TensorDataset(points, classes), batch_size=64, shuffle=True)
model = Classifier()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for epoch in range(15):
    total = 0.0
    for batch, target in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(batch), target)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    with torch.no_grad():
        accuracy = (model(points).argmax(dim=1) == classes).float().mean().item()
    print(f"epoch {epoch:2d}  loss {total / len(points):.6f}  accuracy {accuracy:.4f}")
