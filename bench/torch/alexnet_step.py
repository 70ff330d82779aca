"""The same AlexNet training step in PyTorch, for the ratio against ours on the same GPU in the same run.

    python3 bench/torch/alexnet_step.py --arch paper,torchvision --batch 128 --steps 20 --json out.json

cuDNN in fp32 with TF32 off (our kernels are fp32), cudnn.benchmark on (PyTorch's own autotuning),
SGD with momentum 0.9 and weight decay 5e-4 as the paper; images/s over `--steps` timed steps after
warm-up, each step synchronised. Without CUDA it runs on the CPU (a smoke test of the script).
"""
import argparse, json, time
import torch, torch.nn as nn


def paper(classes):
    # Krizhevsky et al. 2012 as our `paper` arch: 227² input, LRN after conv1/conv2, overlapping
    # pooling, two towers (groups 2) in conv2/4/5. PyTorch's LRN divides alpha by size: 5e-4 = 1e-4·5.
    lrn = lambda: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    pool = lambda: nn.MaxPool2d(3, 2)
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(True), lrn(), pool(),
        nn.Conv2d(96, 256, 5, 1, 2, groups=2), nn.ReLU(True), lrn(), pool(),
        nn.Conv2d(256, 384, 3, 1, 1), nn.ReLU(True),
        nn.Conv2d(384, 384, 3, 1, 1, groups=2), nn.ReLU(True),
        nn.Conv2d(384, 256, 3, 1, 1, groups=2), nn.ReLU(True), pool(),
        nn.Flatten(),
        nn.Linear(256 * 6 * 6, 4096), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(4096, classes),
    ), 227


def tv(classes):
    import torchvision
    return torchvision.models.alexnet(num_classes=classes), 224


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', default='paper,torchvision')
    ap.add_argument('--batch', default='128')
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--classes', type=int, default=1000)
    ap.add_argument('--json')
    a = ap.parse_args()
    cuda = torch.cuda.is_available()
    dev = torch.device('cuda' if cuda else 'cpu')
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    results = []
    for arch in a.arch.split(','):
        for batch in map(int, a.batch.split(',')):
            torch.manual_seed(1)
            model, side = (paper if arch == 'paper' else tv)(a.classes)
            model = model.to(dev).train()
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
            x = torch.randn(batch, 3, side, side, device=dev)
            y = torch.randint(0, a.classes, (batch,), device=dev)
            loss_fn = nn.CrossEntropyLoss()

            def step():
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
                return loss

            for _ in range(a.warmup):
                step()
            if cuda:
                torch.cuda.synchronize()
            times = []
            for _ in range(a.steps):
                t0 = time.perf_counter()
                loss = step()
                if cuda:
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            times.sort()
            med = times[len(times) // 2]
            r = {'system': f"torch-{'cuda' if cuda else 'cpu'}", 'test': f'{arch} train b{batch}', 'batch': batch,
                 'images_per_s': batch / med, 'median_ms': 1000 * med, 'loss': float(loss),
                 'device': torch.cuda.get_device_name() if cuda else 'cpu', 'torch': torch.__version__,
                 'cudnn': torch.backends.cudnn.version() if cuda else None, 'tf32': False}
            print(json.dumps(r), flush=True)
            results.append(r)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
