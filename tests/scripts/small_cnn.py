"""A small CNN on synthetic 8x8 images, with Adam."""
import json

import torch
from torch import nn, optim

torch.manual_seed(2)
images = torch.randn(16, 1, 8, 8)
targets = (images.mean(dim=(1, 2, 3)) > 0).long()


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(4 * 4 * 4, 2)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


model = SmallCNN()
optimizer = optim.Adam(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()
losses = []
for step in range(6):
    optimizer.zero_grad()
    loss = criterion(model(images), targets)
    loss.backward()
    grads = {name: p.grad.tolist() for name, p in model.named_parameters()}
    optimizer.step()
    losses.append(loss.item())

with open("result.json", "w") as f:
    json.dump({"losses": losses, "grads": grads}, f)
