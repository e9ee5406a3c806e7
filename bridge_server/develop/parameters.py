"""`PlanParameters`: the continuous values of a plan as one tensor, so that renders can be differentiated.

The renderer reads every slider through this object. Keys are ("global", name), ("local", edit index, name)
and ("amount", edit index); values are in the plan's own UI units (Exposure2012 in EV, the others -100..100,
Temperature in kelvin). Names come from the parameter table in `core.params`; defaults too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..core.params import GLOBAL_PARAMS, HSL_BANDS, LOCAL_PARAMS
from ..core.plan import RetouchPlan

Tensor = torch.Tensor

# Global sliders the renderer models (white balance is added per plan: absolute for raw, incremental otherwise).
RENDERED_GLOBAL: tuple[str, ...] = (
    "Exposure2012", "Contrast2012", "Highlights2012", "Shadows2012", "Whites2012", "Blacks2012",
    "Texture", "Clarity2012", "Dehaze", "Vibrance", "Saturation",
    "ParametricShadows", "ParametricDarks", "ParametricLights", "ParametricHighlights",
    "ParametricShadowSplit", "ParametricMidtoneSplit", "ParametricHighlightSplit",
) + tuple(f"{what}Adjustment{band}" for what in ("Hue", "Saturation", "Luminance") for band in HSL_BANDS)
ABSOLUTE_WB = ("Temperature", "Tint")
INCREMENTAL_WB = ("IncrementalTemperature", "IncrementalTint")

# Local sliders the renderer models; the others (Hue, Sharpness, noise, moire, defringe, grain, colour toning)
# are kept in the plan and written to Lightroom but not rendered here.
RENDERED_LOCAL: tuple[str, ...] = (
    "Exposure2012", "Contrast2012", "Highlights2012", "Shadows2012", "Whites2012", "Blacks2012",
    "Texture", "Clarity2012", "Dehaze", "Saturation", "Temperature", "Tint",
)

DEFAULT_AS_SHOT = (6504.0, 0.0)  # a decoded raw is taken to be balanced for D65 when the as-shot WB is unknown

for _name in RENDERED_GLOBAL + ABSOLUTE_WB + INCREMENTAL_WB:
    assert _name in GLOBAL_PARAMS, _name
for _name in RENDERED_LOCAL:
    assert _name in LOCAL_PARAMS, _name


def _global_default(name: str, as_shot: tuple[float, float]) -> float:
    if name == "Temperature":
        return float(as_shot[0])
    if name == "Tint":
        return float(as_shot[1])
    return float(GLOBAL_PARAMS[name].default)


@dataclass
class PlanParameters:
    """A plan's continuous values as a flat tensor `vector` (P,), with `keys` naming each entry.

    `plan` keeps everything that is not a continuous value (masks, curves' points, spots, notes).
    `absolute_wb` is True when white balance is Temperature/Tint (raw files, relative to `as_shot`).
    """

    plan: RetouchPlan
    keys: tuple[tuple, ...]
    vector: Tensor
    absolute_wb: bool = False
    as_shot: tuple[float, float] = DEFAULT_AS_SHOT
    _index: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._index = {k: i for i, k in enumerate(self.keys)}

    @classmethod
    def from_plan(cls, plan: RetouchPlan, *, as_shot: tuple[float, float] | None = None,
                  requires_grad: bool = False, dtype: torch.dtype = torch.float32,
                  device: torch.device | str | None = None) -> "PlanParameters":
        """Every rendered slider of `plan` (defaults where the plan leaves one out), one entry each.

        White balance is absolute (Temperature/Tint, relative to `as_shot`) when the plan sets it so or when
        `as_shot` is given; otherwise incremental (IncrementalTemperature/IncrementalTint).
        """
        absolute = "Temperature" in plan.global_ or "Tint" in plan.global_ or (
            as_shot is not None and not any(k in plan.global_ for k in INCREMENTAL_WB))
        shot = tuple(float(v) for v in (as_shot or DEFAULT_AS_SHOT))
        keys: list[tuple] = []
        values: list[float] = []
        for name in RENDERED_GLOBAL + (ABSOLUTE_WB if absolute else INCREMENTAL_WB):
            keys.append(("global", name))
            given = plan.global_.get(name)
            values.append(float(given) if given is not None else _global_default(name, shot))
        for i, edit in enumerate(plan.regions):
            for name in RENDERED_LOCAL:
                keys.append(("local", i, name))
                values.append(float(edit.values.get(name, LOCAL_PARAMS[name].default) or 0.0))
            keys.append(("amount", i))
            values.append(float(edit.amount))
        vector = torch.tensor(values, dtype=dtype, device=device)
        vector.requires_grad_(requires_grad)
        return cls(plan=plan, keys=tuple(keys), vector=vector, absolute_wb=absolute, as_shot=shot)

    # -- reading ------------------------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self.vector.requires_grad

    def index(self, key: tuple) -> int:
        return self._index[key]

    def value(self, key: tuple) -> Tensor:
        """One entry as a 0-d tensor (part of the autograd graph of `vector`)."""
        return self.vector[self._index[key]]

    def global_value(self, name: str) -> Tensor:
        return self.value(("global", name))

    def local_values(self, name: str) -> Tensor:
        """The local slider `name` of every edit, (K,)."""
        idx = [self._index[("local", i, name)] for i in range(len(self.plan.regions))]
        return self.vector[idx]

    def amounts(self) -> Tensor:
        idx = [self._index[("amount", i)] for i in range(len(self.plan.regions))]
        return self.vector[idx]

    def is_zero(self, key: tuple) -> bool:
        """True when the entry is 0 and no gradient is wanted (the renderer may then skip its stage)."""
        return not self.requires_grad and float(self.vector[self._index[key]]) == 0.0

    # -- writing back --------------------------------------------------------------------------------------
    def to_plan(self) -> RetouchPlan:
        """A copy of the plan holding the current values (validated: out-of-range values clamped, with notes)."""
        out = self.plan.copy()
        values = [round(v, 6) for v in self.vector.detach().cpu().double().tolist()]  # float32 noise off
        for key, value in zip(self.keys, values):
            if key[0] == "global":
                p = GLOBAL_PARAMS[key[1]]
                if key[1] in out.global_ or abs(value - float(p.default or 0.0)) > 1e-9 or key[1] in ABSOLUTE_WB:
                    out.global_[key[1]] = value
            elif key[0] == "local":
                edit = out.regions[key[1]]
                if key[2] in edit.values or value != 0.0:
                    edit.values[key[2]] = value
            else:
                out.regions[key[1]].amount = value
        return out.validate()
