"""Data-parallel training over several processes with PyTorch DDP (Li et al. 2020, "PyTorch
Distributed: Experiences on Accelerating Data Parallel Training", VLDB).

`torchrun --nproc_per_node N -m latentlab train --config c.json` starts N copies of the same
`train()`. Each reads RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT from the
environment torchrun sets, joins one process group (gloo on the CPU, NCCL where GPUs exist),
sees its own shard of every epoch (DistributedSampler) and averages gradients with the others on
every backward pass; rank 0 alone writes resume state, checkpoints and progress.

Why the loss, not the model, is wrapped: DDP synchronises gradients only for passes that go
through its own `forward`, but each family owns its `train_step` and calls `self.loss(...)`. So
`replicate` routes the instance's `loss` through a DDP module holding the model; any family whose
`train_step` computes one `loss` per backward trains data-parallel unchanged.
Without torchrun (WORLD_SIZE unset or 1) everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Dist:
    """Where this process sits: `rank` of `world` processes; `owns_group` if `setup` created it."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = Dist()


def setup() -> Dist:
    """Join the process group torchrun describes in the environment (single process: SINGLE)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and torch.cuda.device_count() > local
    device = f"cuda:{local}" if cuda else "cpu"
    owns = not dist.is_initialized()
    if owns:
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
    return Dist(rank, world, local, device, owns)


def teardown(d: Dist) -> None:
    if d.owns_group:
        import torch.distributed as dist

        dist.destroy_process_group()


class _Loss(nn.Module):
    """`forward(batch, step, generator)` = the model's own class-level `loss` (terms dict)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch, step, generator=None):
        return type(self.model).loss(self.model, batch, step, generator)


def replicate(model: nn.Module, d: Dist) -> None:
    """Make `model.loss` run through DDP (gradients averaged over ranks; rank 0's initial weights
    broadcast to all). Undo with `release`."""
    if not d.active:
        return
    from latentlab.errors import ConfigError
    from latentlab.models.base import LatentModel

    if type(model).train_step is not LatentModel.train_step:
        # its own step (several losses, several optimisers) would bypass the synchronised loss:
        # ranks would drift apart silently, so refuse instead
        raise ConfigError(f"family {model.family!r} has its own training step; torchrun trains "
                          "families that use the default step")
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [d.local_rank] if d.device.startswith("cuda") else None
    ddp = DDP(_Loss(model), device_ids=ids)
    model.__dict__["loss"] = ddp  # an instance attribute shadows the class method; not a submodule


def release(model: nn.Module) -> None:
    model.__dict__.pop("loss", None)


def epoch_order(n: int, epoch: int, seed: int, d: Dist) -> torch.Tensor:
    """This rank's shuffled sample indices `[ceil(n / world)]` for `epoch` (DistributedSampler:
    every rank the same length, so every rank takes the same number of steps)."""
    from torch.utils.data.distributed import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=d.world, rank=d.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)


def mean(value: float, d: Dist) -> float:
    """The mean of a per-rank number over all ranks."""
    if not d.active:
        return value
    import torch.distributed as dist

    t = torch.tensor([float(value)], dtype=torch.float64, device=d.device)
    dist.all_reduce(t)
    return float(t) / d.world
