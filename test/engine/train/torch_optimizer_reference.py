"""Reference trajectories of torch.optim.AdamW / SGD and clip_grad_norm_ for optimizers.test.ts.

Run with PyTorch (any 1.13+; the pinned numbers came from 1.13): /usr/bin/python3 torch_optimizer_reference.py
Two tensors, float64, five steps with gradients sin(1.3(i+1) + 0.7k + 0.4t) * 1.5 (element i of
tensor t at step k) and the learning rates LRS; the test recomputes the same trajectories in-graph
and with a plain-JS reference and compares both with the numbers printed here.
"""
import json, math, torch
torch.set_default_dtype(torch.float64)
LRS = [1e-2, 2e-2, 5e-3, 1e-2, 3e-2]
def grad_value(t, i, k, scale):
    return scale * math.sin(1.3 * (i + 1) + 0.7 * k + 0.4 * t)
def run(make_opt, clip):
    p1 = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))
    p2 = torch.nn.Parameter(torch.tensor([[0.1, 0.2], [0.3, -0.4]]))
    opt = make_opt([p1, p2])
    norms = []
    for k in range(5):
        for t, p in enumerate([p1, p2]):
            flat = [grad_value(t, i, k, 1.5) for i in range(p.numel())]
            p.grad = torch.tensor(flat).reshape(p.shape)
        norms.append(float(torch.nn.utils.clip_grad_norm_([p1, p2], clip if clip > 0 else float('inf'))))
        for g in opt.param_groups: g['lr'] = LRS[k]
        opt.step()
    return {'p1': p1.detach().tolist(), 'p2': sum(p2.detach().tolist(), []), 'norms': norms}
out = {
  'adamw': run(lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1), 0),
  'adamw_clip': run(lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0), 0.5),
  'sgd_momentum': run(lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, weight_decay=0.01), 0),
  'sgd': run(lambda ps: torch.optim.SGD(ps, lr=1e-2), 0),
}
print(json.dumps(out, indent=1))
