"""PyTorch reference for ResNet20StepBenchmark: one ResNet-20 training step on CIFAR-shaped input
(3x32x32, batch 128, SGD 0.1 with momentum 0.9 and weight decay 1e-4, batch norm in training mode), the
architecture of open_lth's cifar_resnet_20: a 3x3 stem of 16 filters, three stages of three basic blocks
(16, 32, 64 filters; stride 2 at the first block of stages 2 and 3, where the shortcut is a 1x1 convolution
with batch norm), global average pooling and a linear layer. Timed as the median of many steps after warm-up.

Usage: python3 Benchmarks/reference/resnet20_step.py [--threads 1] [--steps 20]
"""
import torch

import steptime


class Block(torch.nn.Module):
    def __init__(self, f_in, f_out, downsample):
        super().__init__()
        stride = 2 if downsample else 1
        self.conv1 = torch.nn.Conv2d(f_in, f_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(f_out)
        self.conv2 = torch.nn.Conv2d(f_out, f_out, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(f_out)
        if downsample or f_in != f_out:
            self.shortcut = torch.nn.Sequential(
                torch.nn.Conv2d(f_in, f_out, 1, stride=stride, bias=False), torch.nn.BatchNorm2d(f_out))
        else:
            self.shortcut = torch.nn.Sequential()

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def resnet20():
    layers = [torch.nn.Conv2d(3, 16, 3, padding=1, bias=False), torch.nn.BatchNorm2d(16), torch.nn.ReLU()]
    f_in = 16
    for stage, width in enumerate([16, 32, 64]):
        for block in range(3):
            layers.append(Block(f_in, width, downsample=stage > 0 and block == 0))
            f_in = width
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10)]
    return torch.nn.Sequential(*layers)


def main():
    args = steptime.parse(threads=1, steps=20)
    model = resnet20()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    step = steptime.train_step(model, opt, torch.rand(128, 3, 32, 32), torch.arange(128) % 10)
    steptime.report("resnet20", step, warmup=3, steps=args.steps)


if __name__ == "__main__":
    main()
