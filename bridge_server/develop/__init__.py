"""The renderer: develop a photo from a RetouchPlan, faithfully, fast and differentiably (torch, CPU or CUDA)."""
from .parameters import PlanParameters
from .renderer import render, render_tiled

__all__ = ["PlanParameters", "render", "render_tiled"]
