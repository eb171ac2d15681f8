"""DistributedDataParallel (issue #19): two processes, started as torchrun
starts them (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK set,
init_method env://, gloo), train the stroke VAE for a few steps on halves
of a global batch. Their parameters must equal a single process's on the
same global batch.

The single process renders the batch as the two ranks do, half by half with
the ranks' seeds, and averages the two halves' gradients (DDP's all-reduce
mean). It must: the renderer draws the backward pass's boundary samples
over the whole batch it is given, so one render of 8 images and two renders
of 4 give different (equally unbiased) gradient estimates. The noise of the
reparameterisation is fixed per image for the same reason."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pydiffvg.apps import generative as gen

WORLD, STEPS, BATCH = 2, 3, 8
LATENT = 4


def _data():
    generator = torch.Generator().manual_seed(11)
    images = torch.rand(STEPS, BATCH, 28, 28, generator=generator) ** 4  # sparse bright pixels
    noise = torch.randn(STEPS, BATCH, LATENT, generator=generator)
    return images, noise


def _model_and_optimizer():
    torch.manual_seed(0)
    model = gen.StrokeVAE(latent_dim=LATENT, num_paths=3, hidden=32)
    return model, torch.optim.Adam(model.parameters(), lr=1e-2)


def _shard(step_tensor, rank):
    half = BATCH // WORLD
    return step_tensor[rank * half:(rank + 1) * half]


def _seed(step, rank):
    return 100 * step + rank


def _rank_main(rank, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="env://")
    try:
        model, _ = _model_and_optimizer()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        optimizer = torch.optim.Adam(ddp.parameters(), lr=1e-2)
        images, noise = _data()
        for step in range(STEPS):
            gen.vae_step(ddp, optimizer, _shard(images[step], rank), beta=0.1, seed=_seed(step, rank),
                         noise=_shard(noise[step], rank))
        torch.save({k: v.detach().clone() for k, v in model.state_dict().items()},
                   os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _single_process():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, optimizer = _model_and_optimizer()
        images, noise = _data()
        for step in range(STEPS):
            optimizer.zero_grad()
            for rank in range(WORLD):
                loss, _, _ = gen.vae_loss(model, _shard(images[step], rank), beta=0.1, seed=_seed(step, rank),
                                          noise=_shard(noise[step], rank))
                (loss / WORLD).backward()
            optimizer.step()
        return model.state_dict()
    finally:
        torch.set_num_threads(threads)


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not built in")
def test_two_ddp_processes_train_the_vae_as_one_process_does(tmp_path):
    mp.start_processes(_rank_main, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True,
                       start_method="spawn")
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    reference = _single_process()
    initial = _model_and_optimizer()[0].state_dict()
    moved = 0.0
    for name, expected in reference.items():
        for rank, state in enumerate(ranks):
            got = state[name]
            assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5), \
                (name, rank, float((got - expected).abs().max()), float(expected.abs().max()))
        assert torch.equal(ranks[0][name], ranks[1][name]), name  # DDP keeps the replicas identical
        moved = max(moved, float((expected - initial[name]).abs().max()))
    assert moved > 1e-3, "the steps did not move the parameters: the comparison would prove nothing"
