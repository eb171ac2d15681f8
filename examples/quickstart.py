"""Renders a small vector scene, then fits a circle to a target by gradient
descent, writing quickstart_scene.png, quickstart_fit.png and
quickstart_fit.svg into the current folder. Runs in a few seconds on CPU."""
import time

import torch

import pydiffvg


def demo_scene():
    shapes = [
        pydiffvg.Rect(p_min=torch.tensor([0.0, 0.0]), p_max=torch.tensor([128.0, 128.0])),
        pydiffvg.Circle(radius=torch.tensor(30.0), center=torch.tensor([50.0, 60.0])),
        pydiffvg.Path(num_control_points=torch.tensor([2, 2]),
                      points=torch.tensor([[10.0, 110.0], [40.0, 60.0], [80.0, 140.0], [118.0, 90.0],
                                           [100.0, 20.0], [60.0, 30.0], [60.0, 10.0]]),
                      is_closed=False, stroke_width=torch.tensor(3.0)),
    ]
    groups = [
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=pydiffvg.LinearGradient(
            begin=torch.tensor([0.0, 0.0]), end=torch.tensor([128.0, 128.0]), offsets=torch.tensor([0.0, 1.0]),
            stop_colors=torch.tensor([[0.95, 0.9, 0.8, 1.0], [0.6, 0.75, 0.95, 1.0]]))),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([1]), fill_color=pydiffvg.RadialGradient(
            center=torch.tensor([45.0, 50.0]), radius=torch.tensor([35.0, 35.0]), offsets=torch.tensor([0.0, 1.0]),
            stop_colors=torch.tensor([[1.0, 0.8, 0.2, 1.0], [0.9, 0.2, 0.1, 1.0]]))),
        pydiffvg.ShapeGroup(shape_ids=torch.tensor([2]), fill_color=None,
                            stroke_color=torch.tensor([0.1, 0.2, 0.5, 0.9])),
    ]
    return shapes, groups


def main():
    start = time.time()
    shapes, groups = demo_scene()
    image = pydiffvg.render(shapes, groups, width=128, height=128, num_samples=4)
    pydiffvg.imwrite(image, "quickstart_scene.png", gamma=1.0)

    # Fit a circle's centre, radius and colour to a target rendered from a hidden one.
    def circle_scene(center, radius, color):
        return [pydiffvg.Circle(radius=radius, center=center)], [
            pydiffvg.ShapeGroup(shape_ids=torch.tensor([0]), fill_color=color)]
    target = pydiffvg.render(*circle_scene(torch.tensor([70.0, 60.0]), torch.tensor(25.0),
                                           torch.tensor([0.2, 0.6, 0.9, 1.0])), width=128, height=128, num_samples=4)
    center = torch.tensor([50.0, 80.0], requires_grad=True)
    radius = torch.tensor(15.0, requires_grad=True)
    color = torch.tensor([0.5, 0.5, 0.5, 1.0], requires_grad=True)
    optimizer = torch.optim.Adam([{"params": [center, radius], "lr": 1.0}, {"params": [color], "lr": 0.02}])
    for step in range(100):
        optimizer.zero_grad()
        image = pydiffvg.render(*circle_scene(center, radius, color), width=128, height=128, num_samples=2, seed=step)
        loss = ((image - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        color.data.clamp_(0.0, 1.0)
    pydiffvg.imwrite(image, "quickstart_fit.png", gamma=1.0)
    pydiffvg.save_svg("quickstart_fit.svg", 128, 128, *circle_scene(center.detach(), radius.detach(), color.detach()))
    print(f"fitted centre {center.detach().tolist()} radius {radius.item():.2f} (target [70, 60], 25); "
          f"loss {loss.item():.2e}; {time.time() - start:.1f} s; wrote quickstart_scene.png, quickstart_fit.png, "
          f"quickstart_fit.svg")


if __name__ == "__main__":
    main()
