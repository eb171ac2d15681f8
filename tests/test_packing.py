"""The packer's plan reuse (pydiffvg/scene.py): packing a scene again reuses
its planned structure and gives exactly what packing it from scratch gives,
and every way a scene can change between two renders is seen."""
import copy
import pickle

import pytest
import torch

import pydiffvg
from pydiffvg import scene as packer


def _scene():
    """Every kind of shape and paint, a transform, per-point widths."""
    t = torch.tensor
    shapes = [
        pydiffvg.Circle(t(6.0), t([10.0, 12.0]), stroke_width=t(1.5)),
        pydiffvg.Ellipse(t([8.0, 4.0]), t([30.0, 10.0])),
        pydiffvg.Rect(t([2.0, 30.0]), t([20.0, 44.0]), stroke_width=t(0.5)),
        pydiffvg.Path(t([2, 0]), t([[30.0, 30.0], [40.0, 20.0], [50.0, 40.0], [44.0, 46.0], [34.0, 44.0]]),
                      is_closed=False, stroke_width=t([1.0, 2.0, 1.5, 1.0, 0.5])),
        pydiffvg.Polygon(t([[5.0, 50.0], [20.0, 52.0], [12.0, 60.0]]), is_closed=True),
        pydiffvg.Path(t([1, 1, 0]), t([[40.0, 50.0], [50.0, 45.0], [60.0, 55.0], [55.0, 62.0], [45.0, 60.0]]),
                      is_closed=True),
    ]
    shapes[3].line_cap = pydiffvg.LineCap.butt
    shapes[5].line_join = pydiffvg.LineJoin.miter
    linear = pydiffvg.LinearGradient(t([0.0, 0.0]), t([60.0, 60.0]), t([0.0, 1.0]),
                                     t([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]]))
    radial = pydiffvg.RadialGradient(t([50.0, 55.0]), t([10.0, 8.0]), t([0.0, 0.5, 1.0]),
                                     t([[1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.5], [0.0, 0.0, 0.0, 1.0]]),
                                     focal=t([48.0, 54.0]))
    shift = t([[1.0, 0.2, 3.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]])
    groups = [
        pydiffvg.ShapeGroup(t([0, 1]), t([0.2, 0.4, 0.6, 0.8]), stroke_color=t([0.0, 0.0, 0.0, 1.0])),
        pydiffvg.ShapeGroup(t([2]), linear, use_even_odd_rule=False, shape_to_canvas=shift),
        pydiffvg.ShapeGroup(t([3]), None, stroke_color=t([0.1, 0.9, 0.1, 1.0])),
        pydiffvg.ShapeGroup(t([4, 5]), radial, stroke_color=t([0.5, 0.5, 0.5, 0.7])),
    ]
    return [(64, 64, shapes, groups), (64, 48, shapes[:2], [pydiffvg.ShapeGroup(t([1, 0]), t([1.0, 0, 0, 1]))])]


def _solid_scene():
    """Real art's common case, which packs without per-tensor conversions:
    paths and circles, scalar widths, solid paints, float32 throughout."""
    t = torch.tensor
    shapes = [pydiffvg.Path(t([2, 0, 1]), torch.rand(6, 2, generator=torch.Generator().manual_seed(k)) * 30 + k,
                            is_closed=True, stroke_width=t(1.0 + k)) for k in range(4)]
    shapes.append(pydiffvg.Circle(t(5.0), t([20.0, 20.0])))
    groups = [pydiffvg.ShapeGroup(t([k]), t([0.1 * k, 0.5, 0.2, 1.0]), stroke_color=None if k % 2 else
                                  t([0.0, 0.0, 0.0, 1.0])) for k in range(5)]
    return [(40, 40, shapes, groups)]


def _pack(scenes):
    return packer.pack_scenes(scenes, 48, 40, torch.device("cpu"))


def _fresh(scenes):
    """Packed from scratch: no plan to reuse."""
    saved = dict(packer._PLANS)
    packer._PLANS.clear()
    try:
        return _pack(scenes)
    finally:
        packer._PLANS.clear()
        packer._PLANS.update(saved)


def _assert_same(a, b):
    assert a.counts == b.counts
    assert a.floats.keys() == b.floats.keys() and a.ints.keys() == b.ints.keys()
    for name in a.floats:
        assert torch.equal(a.floats[name], b.floats[name]), name
    for name in a.ints:
        assert torch.equal(a.ints[name], b.ints[name]), name


@pytest.fixture
def plans_made(monkeypatch):
    """Counts the plans built (each a Python walk over the scene)."""
    made = []
    init = packer._Plan.__init__

    def counting(self, *args):
        made.append(1)
        init(self, *args)
    monkeypatch.setattr(packer._Plan, "__init__", counting)
    return made


@pytest.mark.parametrize("make", [_scene, _solid_scene])
def test_a_scene_packed_again_reuses_its_plan_and_packs_the_same(plans_made, make):
    scenes = make()
    first = _pack(scenes)
    circle = next(i for i, s in enumerate(scenes[0][2]) if isinstance(s, pydiffvg.Circle))
    with torch.no_grad():
        scenes[0][2][circle].center.add_(1.0)  # a value written in place: the plan still holds
        scenes[0][3][0].fill_color.mul_(0.5)
    second = _pack(scenes)
    assert len(plans_made) == 1
    assert torch.equal(second.floats["shape_params"][circle, :2], first.floats["shape_params"][circle, :2] + 1.0)
    assert torch.equal(second.floats["paint_params"][0, :4], first.floats["paint_params"][0, :4] * 0.5)
    _assert_same(second, _fresh(scenes))
    assert packer._PLANS[packer._plan_key(scenes, 48, 40, torch.device("cpu"))].ready == (make is _solid_scene)


def _mutations():
    t = torch.tensor

    def closed(s):  # the open path closed, with one point fewer to match
        p = s[0][2][3]
        p.points, p.stroke_width, p.is_closed = p.points[:4].clone(), t(1.0), True

    def cap(s):
        s[0][2][5].line_cap = pydiffvg.LineCap.square

    def fill_rule(s):
        s[0][3][0].use_even_odd_rule = False

    def paint_kind(s):
        s[0][3][2].fill_color = s[0][3][1].fill_color

    def focal_dropped(s):
        s[0][3][3].fill_color.focal = None

    def more_stops(s):
        g = s[0][3][1].fill_color
        g.offsets, g.stop_colors = t([0.0, 0.3, 1.0]), t([[1.0, 0, 0, 1], [0, 1.0, 0, 1], [0, 0, 1.0, 1]])

    def segments_in_place(s):  # [2, 0] -> [0, 2]: as many points, other segments
        s[0][2][3].num_control_points[:] = t([0, 2])

    def ids_in_place(s):
        s[0][3][0].shape_ids[0] = 4

    def shape_list(s):
        s[0][2].append(pydiffvg.Circle(t(3.0), t([5.0, 5.0])))
        s[0][3].append(pydiffvg.ShapeGroup(t([6]), t([0.0, 1.0, 1.0, 1.0])))

    def swapped_object(s):
        s[0][2][1] = pydiffvg.Rect(t([1.0, 1.0]), t([9.0, 9.0]))

    def copied(s):
        s[0] = (64, 64, copy.deepcopy(s[0][2]), copy.deepcopy(s[0][3]))
        s[0][2][3].num_control_points[:] = t([0, 2])

    def widths_per_point(s):
        p = s[0][2][5]
        p.stroke_width = torch.full((5,), 2.0)

    return [closed, cap, fill_rule, paint_kind, focal_dropped, more_stops, segments_in_place, ids_in_place,
            shape_list, swapped_object, copied, widths_per_point]


@pytest.mark.parametrize("mutate", _mutations(), ids=lambda f: f.__name__)
def test_a_change_between_renders_packs_as_from_scratch(mutate):
    scenes = _scene()
    before = _pack(scenes)
    _pack(scenes)
    mutate(scenes)
    after = _pack(scenes)
    _assert_same(after, _fresh(scenes))
    changed = any(not torch.equal(before.ints[k], after.ints[k]) for k in before.ints if k in after.ints
                  and before.ints[k].shape == after.ints[k].shape)
    changed = changed or before.counts != after.counts or any(
        before.floats[k].shape != after.floats[k].shape or not torch.equal(before.floats[k], after.floats[k])
        for k in before.floats)
    assert changed, f"{mutate.__name__} left the packed scene as it was"


def test_points_resized_through_data_are_named_on_reuse():
    scenes = _scene()
    _pack(scenes)
    scenes[0][2][5].points.data = torch.rand(7, 2)
    with pytest.raises(ValueError, match=r"shapes\[5\]\.points holds 7 points"):
        _pack(scenes)


def test_polygons_trading_a_point_through_data_are_seen():
    """Two polygons resized through .data (no assignment on the shapes, no
    version counter): as many points in all, but other segments."""
    scenes = _scene()
    extra = pydiffvg.Polygon(torch.tensor([[30.0, 5.0], [40.0, 5.0], [40.0, 15.0], [30.0, 15.0]]), is_closed=True)
    scenes[0][2].append(extra)
    scenes[0][3].append(pydiffvg.ShapeGroup(torch.tensor([6]), torch.tensor([0.0, 0.0, 1.0, 1.0])))
    _pack(scenes)
    _pack(scenes)
    triangle = scenes[0][2][4]
    triangle.points.data, extra.points.data = extra.points.data.clone(), triangle.points.data.clone()
    _assert_same(_pack(scenes), _fresh(scenes))


@pytest.mark.parametrize("make", [_scene, _solid_scene])
def test_a_colour_reshaped_through_data_packs_as_from_scratch(make):
    scenes = make()
    _pack(scenes)
    color = scenes[0][3][0].fill_color
    color.data = color.data.reshape(2, 2)  # torch.stack of the paints now fails: packed without the plan
    _assert_same(_pack(scenes), _fresh(scenes))


def test_points_reshaped_through_data_are_named_on_reuse():
    t = torch.tensor
    path = pydiffvg.Polygon(t([[1.0, 1.0], [9.0, 1.0], [5.0, 8.0]]), is_closed=True)
    scenes = [(16, 16, [path], [pydiffvg.ShapeGroup(t([0]), t([1.0, 0.0, 0.0, 1.0]))])]
    _pack(scenes)
    path.points.data = path.points.data.reshape(6, 1)  # as many values: only the packed shape tells
    with pytest.raises(ValueError, match=r"shapes\[0\]\.points must have shape \(N, 2\)"):
        _pack(scenes)


def test_copies_and_unpickled_objects_get_their_own_revisions():
    scenes = _scene()
    path = scenes[0][2][3]
    for other in (copy.copy(path), copy.deepcopy(path), pickle.loads(pickle.dumps(path))):
        assert other._revision != path._revision
    before = path._revision
    path.id = "renamed"
    assert path._revision > before


def test_gradients_through_a_reused_plan_match_a_fresh_one():
    scenes = _scene()
    leaves = [s for s in scenes[0][2] if isinstance(s, pydiffvg.Path)]
    for p in leaves:
        p.points.requires_grad_(True)
    color = scenes[0][3][0].fill_color.requires_grad_(True)
    weight = torch.rand(40, 48, 4, generator=torch.Generator().manual_seed(3))
    grads = []
    for _ in range(3):  # a fresh plan, then two reuses
        img = pydiffvg.render(scenes[0][2], scenes[0][3], width=48, height=40, canvas_width=64, canvas_height=64,
                              num_samples=2)
        (img * weight).sum().backward()
        grads.append([p.points.grad.clone() for p in leaves] + [color.grad.clone()])
        for t in leaves:
            t.points.grad = None
        color.grad = None
    for later in grads[1:]:
        for a, b in zip(grads[0], later):  # equal but for the order of the threads' sums
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert all(float(g.abs().sum()) > 0 for g in grads[0])


def test_plans_kept_are_bounded():
    for _ in range(3 * packer._MAX_PLANS):
        _pack(_scene())
    assert len(packer._PLANS) <= packer._MAX_PLANS
