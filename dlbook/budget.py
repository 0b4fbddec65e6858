"""Run budgets: one environment variable sets how much every script computes.

``DLBOOK_BUDGET`` takes one of four values:

``smoke``
    seconds; used by the tests to check that a script runs end to end.
``ci``
    small enough that the whole docs build fits in the CI limit on 2 cores.
``default``
    meaningful results on a laptop CPU (the value when the variable is unset).
``full``
    paper scale, meant for a GPU.
"""

from __future__ import annotations

import os

BUDGETS = ("smoke", "ci", "default", "full")
ENV_VAR = "DLBOOK_BUDGET"

__all__ = ["BUDGETS", "ENV_VAR", "get_budget", "by_budget"]


def get_budget(budget: str | None = None) -> str:
    """Return the run budget, validated.

    Parameters
    ----------
    budget : str, optional
        An explicit budget. If omitted, ``DLBOOK_BUDGET`` is read, and
        ``"default"`` is used when it is unset or empty.

    Returns
    -------
    str
        One of ``"smoke"``, ``"ci"``, ``"default"``, ``"full"``.

    Raises
    ------
    ValueError
        If the budget is not one of the four names.

    Examples
    --------
    >>> get_budget("ci")
    'ci'
    >>> get_budget("huge")
    Traceback (most recent call last):
    ...
    ValueError: DLBOOK_BUDGET must be one of 'smoke', 'ci', 'default', 'full'; got 'huge'
    """
    if budget is None:
        budget = os.environ.get(ENV_VAR, "").strip() or "default"
    if budget not in BUDGETS:
        names = ", ".join(repr(b) for b in BUDGETS)
        raise ValueError(f"{ENV_VAR} must be one of {names}; got {budget!r}")
    return budget


def by_budget(*, smoke, ci, default, full=None, budget: str | None = None):
    """Pick a value according to the run budget.

    Parameters
    ----------
    smoke, ci, default : object
        The value for each budget.
    full : object, optional
        The value for the ``full`` budget; ``default`` when omitted.
    budget : str, optional
        Use this budget instead of reading ``DLBOOK_BUDGET``.

    Examples
    --------
    >>> by_budget(smoke=1, ci=5, default=20, budget="ci")
    5
    >>> by_budget(smoke=1, ci=5, default=20, budget="full")
    20
    """
    values = {"smoke": smoke, "ci": ci, "default": default, "full": default if full is None else full}
    return values[get_budget(budget)]
