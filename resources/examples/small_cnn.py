"""A small convolutional network that tells horizontal stripes from vertical ones in
noisy 12x12 images: Conv2d, ReLU, MaxPool2d, Flatten and Linear layers trained with SGD
and momentum.

Runs unchanged under PyTorch. In gradstudio the recorded graph shows one group per module
call (StripeNet > features > 0 ... 5, classifier > 0, 1); double-click a group's header to
collapse it to one box with its inputs, outputs, op count and parameter count.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)


def stripes(n, size=12):
    """n noisy images of horizontal (class 0) or vertical (class 1) stripes."""
    rows = (torch.arange(size) % 4 < 2).float()
    horizontal = rows.unsqueeze(1).expand(size, size)
    labels = (torch.rand(n) < 0.5).long()
    images = torch.where(labels.view(n, 1, 1) == 1, horizontal.t(), horizontal)
    return (images + 1.0 * torch.randn(n, size, size)).unsqueeze(1), labels


class StripeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * 3 * 3, 2))

    def forward(self, images):
        return self.classifier(self.features(images))


images, labels = stripes(128)
model = StripeNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

for step in range(40):
    batch = slice(32 * (step % 4), 32 * (step % 4 + 1))
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images[batch]), labels[batch])
    loss.backward()
    optimizer.step()
    if step % 10 == 9:
        correct = (model(images).argmax(1) == labels).float().mean().item()
        print(f"step {step + 1:2d}  loss {loss.item():.6f}  accuracy {correct:.4f}")
