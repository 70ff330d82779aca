// Weights trained in PyTorch load: torchvision's AlexNet (random init, 10 classes) is saved with
// scripts/torch2safetensors.py and loaded by name; our logits match PyTorch's on the same input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../src/train/load_model.js';
import { readNpy } from '../src/data/npy.js';
import { tensor } from '../src/index.js';
import { gpu, disposeGpu, close } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tv-'));
test.after(() => { disposeGpu(); rmSync(dir, { recursive: true, force: true }); });

const PY = `
import sys, numpy as np, torch, torchvision
sys.path.insert(0, 'scripts')
from torch2safetensors import save_safetensors
torch.manual_seed(0)
net = torchvision.models.alexnet(num_classes=10).eval()
save_safetensors(net.state_dict(), sys.argv[1] + '/tv.safetensors')
x = torch.randn(2, 3, 224, 224) * 50
np.save(sys.argv[1] + '/x.npy', x.numpy())
with torch.no_grad(): np.save(sys.argv[1] + '/y.npy', net(x).numpy())
`;

test('torchvision AlexNet weights from PyTorch give the same logits', async () => {
  writeFileSync(join(dir, 'make.py'), PY);
  const r = spawnSync('/usr/bin/python3', [join(dir, 'make.py'), dir], { encoding: 'utf8', timeout: 180_000 });
  assert.is(r.status, 0, `PyTorch side failed (python3-torch and python3-torchvision needed: scripts/setup-system.sh --test): ${r.stderr}`);
  const e = await gpu();
  const { model, meta } = await openModel(e, join(dir, 'tv.safetensors'), 'torchvision');
  assert.is(meta.classes, 10);
  const x = await readNpy(join(dir, 'x.npy')), y = await readNpy(join(dir, 'y.npy'));
  const logits = model.forward(tensor(e, x.data, [2, 3, 224, 224]), { training: false });
  close(await logits.read(), y.data, 2e-3, 2e-3, 'logits');
  model.dispose();
});

test.run();
