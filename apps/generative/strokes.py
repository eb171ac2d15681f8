"""Stroke-based generative models: a VAE and a WGAN-GP whose decoder draws
a fixed number of cubic Bézier strokes, rendered in ONE batched
pydiffvg.render call per step and compared in raster space.

    python apps/generative/strokes.py train-vae --steps 200 --out runs/vae
    python apps/generative/strokes.py train-gan --steps 200 --out runs/gan
    python apps/generative/strokes.py sample runs/vae/checkpoint.pt --out runs/vae/samples

Data: scikit-learn's bundled 8x8 digits upsampled to 28x28 (default, no
download), or --data mnist --data-dir DIR (idx files or mnist.npz).
Training writes checkpoint.pt, sample grids (PNG) and prints the time per
step and the batched render's share of it.
"""
import argparse
import os
import sys

import torch
from tqdm import tqdm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import pydiffvg  # noqa: E402
from pydiffvg.apps import generative as gen  # noqa: E402


def add_model_args(p):
    p.add_argument("--data", choices=["digits", "mnist"], default="digits")
    p.add_argument("--data-dir", help="folder with MNIST idx files or mnist.npz (for --data mnist)")
    p.add_argument("--limit", type=int, help="use only the first N training images")
    p.add_argument("--latent", type=int, default=8, help="latent dimension")
    p.add_argument("--paths", type=int, default=4, help="strokes per image")
    p.add_argument("--segments", type=int, default=1, help="cubic segments per stroke")
    p.add_argument("--hidden", type=int, default=128, help="hidden units per layer")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--samples", type=int, default=2, help="render samples per pixel side")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="runs/strokes", help="output folder")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    vae = sub.add_parser("train-vae", help="train the stroke VAE")
    add_model_args(vae)
    vae.add_argument("--beta", type=float, default=1.0, help="KL weight")
    gan = sub.add_parser("train-gan", help="train the stroke WGAN-GP")
    add_model_args(gan)
    gan.add_argument("--n-critic", type=int, default=5, help="critic steps per generator step")
    gan.add_argument("--gp", type=float, default=10.0, help="gradient-penalty weight")
    sample = sub.add_parser("sample", help="samples, SVGs and a latent interpolation from a checkpoint")
    sample.add_argument("checkpoint")
    sample.add_argument("--out", default=None, help="output folder (default: beside the checkpoint)")
    sample.add_argument("--count", type=int, default=16, help="number of samples")
    sample.add_argument("--interp-steps", type=int, default=8, help="frames of the latent interpolation")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--samples", type=int, default=4, help="render samples per pixel side")
    return p.parse_args(argv)


def load_data(args):
    if args.data == "mnist":
        if not args.data_dir:
            raise SystemExit("strokes.py: --data mnist needs --data-dir")
        return gen.load_mnist(args.data_dir, args.limit)
    return gen.load_digits_28(args.limit)


def config_of(args):
    return {k: getattr(args, k) for k in ("latent", "paths", "segments", "hidden")}


def make_decoder(config, canvas):
    return gen.StrokeDecoder(config["latent"], config["paths"], config["segments"], config["hidden"], canvas)


def write_outputs(decoder, latent_dim, canvas, out, count=16, interp_steps=8, seed=0, num_samples=4):
    """Sample grid (PNG), one SVG per sample and a latent interpolation (PNG)."""
    os.makedirs(out, exist_ok=True)
    gen_rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = torch.randn(count, latent_dim, generator=gen_rng)
        strokes = decoder(z)
        images = gen.render_strokes(**strokes, canvas=canvas, num_samples=num_samples)
        pydiffvg.imwrite(gen.image_grid(images), os.path.join(out, "samples.png"), gamma=1.0)
        for b, scene in enumerate(gen.strokes_to_scenes(**strokes, canvas=canvas)):
            pydiffvg.save_svg(os.path.join(out, f"sample_{b:03d}.svg"), canvas, canvas, scene.shapes,
                              scene.shape_groups, background=(0.0, 0.0, 0.0, 1.0))
        t = torch.linspace(0, 1, interp_steps)[:, None]
        ends = torch.randn(2, latent_dim, generator=gen_rng)
        frames = gen.render_strokes(**decoder((1 - t) * ends[0] + t * ends[1]), canvas=canvas,
                                    num_samples=num_samples)
        pydiffvg.imwrite(gen.image_grid(frames, columns=interp_steps), os.path.join(out, "interpolation.png"),
                         gamma=1.0)


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_data(args)
    canvas = data.shape[-1]
    os.makedirs(args.out, exist_ok=True)
    config = config_of(args)
    timer = gen.StepTimer()
    if args.command == "train-vae":
        model = gen.StrokeVAE(args.latent, args.paths, args.segments, args.hidden, canvas)
        decoder = model.decoder
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        fixed = data[:args.batch]
        print(f"reconstruction loss before: {gen.reconstruction_loss(model, fixed, args.samples):.3f}")
    else:
        decoder = make_decoder(config, canvas)
        critic = gen.Critic(args.hidden, canvas)
        opt_g = torch.optim.Adam(decoder.parameters(), lr=args.lr, betas=(0.5, 0.9))
        opt_d = torch.optim.Adam(critic.parameters(), lr=args.lr, betas=(0.5, 0.9))
    bar = tqdm(range(args.steps), desc=args.command)
    for step in bar:
        if args.command == "train-vae":
            batch = data[torch.randint(0, data.shape[0], (args.batch,))]
            recon, kl = gen.vae_step(model, optimizer, batch, beta=args.beta, num_samples=args.samples,
                                     seed=step, timer=timer)
            bar.set_postfix(recon=f"{recon:.2f}", kl=f"{kl:.2f}")
        else:
            for k in range(args.n_critic):
                real = data[torch.randint(0, data.shape[0], (args.batch,))]
                d_loss = gen.critic_step(decoder, critic, opt_d, real, args.latent, gp_weight=args.gp,
                                         num_samples=args.samples, seed=step * (args.n_critic + 1) + k, timer=timer)
            g_loss = gen.generator_step(decoder, critic, opt_g, args.batch, args.latent, canvas=canvas,
                                        num_samples=args.samples, seed=step * (args.n_critic + 1) + args.n_critic,
                                        timer=timer)
            bar.set_postfix(d=f"{d_loss:.3f}", g=f"{g_loss:.3f}")
    bar.close()
    print(f"timing ({args.command}, batch {args.batch}, {args.paths} strokes, {canvas}x{canvas}): {timer.summary()}")
    if args.command == "train-vae":
        print(f"reconstruction loss after: {gen.reconstruction_loss(model, fixed, args.samples):.3f}")
    state = {"kind": "vae" if args.command == "train-vae" else "gan", "config": config, "canvas": canvas,
             "decoder": decoder.state_dict()}
    state["encoder" if args.command == "train-vae" else "critic"] = (
        model.encoder if args.command == "train-vae" else critic).state_dict()
    torch.save(state, os.path.join(args.out, "checkpoint.pt"))
    write_outputs(decoder, args.latent, canvas, args.out, seed=args.seed)
    print(f"wrote {args.out}/checkpoint.pt, samples.png, sample_*.svg, interpolation.png")


def sample(args):
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    decoder = make_decoder(state["config"], state["canvas"])
    decoder.load_state_dict(state["decoder"])
    decoder.eval()
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "samples")
    write_outputs(decoder, state["config"]["latent"], state["canvas"], out, args.count, args.interp_steps,
                  args.seed, args.samples)
    print(f"wrote {out}/samples.png, sample_*.svg, interpolation.png")


def main(argv=None):
    args = parse_args(argv)
    if args.command == "sample":
        sample(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
