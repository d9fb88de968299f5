"""The figure of a whole-pattern fit, one per identified query (drawn where the fit is made)."""

from __future__ import annotations

from fingerprintml.plotting import figure
from fingerprintml.xrd.refine import FitResult


def whole_pattern_fit(result: FitResult, names: list[str], title: str):
    """A fitted pattern as crystallographers draw it: measured counts, the fitted sum, each phase on the background
    (labelled with its weight fraction, March-Dollase r and direction, B), the difference below, unexplained peaks
    marked."""
    fig, (top, bottom) = figure("double", 0.5, nrows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(result.two_theta, result.observed, ".", ms=1.5, color="0.3", label="measured")
    top.plot(result.two_theta, result.calculated, lw=0.8, color="C3", label=f"fit (Rwp {result.rwp:.3f})")
    for phase, component, name in zip(result.phases, result.components, names, strict=True):
        label = f"{name} {100 * phase.weight_fraction:.1f} +- {100 * phase.weight_fraction_sd:.1f} wt%"
        if phase.texture_direction is not None:
            label += f", r {phase.texture_ratio:.2f} [{''.join(str(v) for v in phase.texture_direction)}]"
        if phase.b_factor:
            label += f", B {phase.b_factor:.1f} Å²"
        top.plot(result.two_theta, result.background + component, lw=0.6, label=label)
    top.plot(result.two_theta, result.background, lw=0.6, color="0.6", label="background")
    for position, _ in result.unexplained:
        top.axvline(position, color="k", lw=0.4, ls=":")
    top.set(ylabel="counts", title=title)
    top.legend(fontsize="x-small")
    bottom.plot(result.two_theta, result.observed - result.calculated, lw=0.5, color="0.3")
    bottom.set(xlabel="2θ (deg)", ylabel="measured - fit")
    return fig
