"""Embedding lookup with its hand-derived backward pass.

With a weight matrix :math:`E \\in \\mathbb{R}^{V \\times D}` and the indices
:math:`k_1, \\dots, k_n` written as the one-hot matrix
:math:`S \\in \\{0, 1\\}^{n \\times V}` (:math:`S_{j v} = [k_j = v]`), the
lookup is the product :math:`Y = S E`: row :math:`j` of :math:`Y` is row
:math:`k_j` of :math:`E`. The gradient with respect to :math:`E` is
therefore :math:`\\bar E = S^\\top \\bar Y`: row :math:`v` of :math:`\\bar E`
is the sum of the upstream gradient rows :math:`\\bar y_j` of every position
with :math:`k_j = v`, and zero for a row that was not used. The code never
forms :math:`S`; it gathers rows forward and scatter-adds rows backward
(:meth:`torch.Tensor.index_add`). The row ``padding_idx``, if given,
receives no gradient.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating, check_ndim, check_tensor

__all__ = ["EmbeddingFunction", "embedding"]


class EmbeddingFunction(torch.autograd.Function):
    """``forward(indices, weight, padding_idx) -> weight[indices]``.

    The backward pass is :math:`\\bar E = S^\\top \\bar Y` computed as a
    scatter-add of rows; it is written with differentiable operations, and
    linear in the upstream gradient, so double backward is correct.
    """

    @staticmethod
    def forward(ctx, indices, weight, padding_idx):
        """Gather the rows ``weight[indices]``."""
        ctx.save_for_backward(indices)
        ctx.num_rows, ctx.padding_idx = weight.shape[0], padding_idx
        return weight.index_select(0, indices.reshape(-1)).view(*indices.shape, weight.shape[1])

    @staticmethod
    def backward(ctx, grad_output):
        """Scatter-add the upstream rows into the rows that were used."""
        (indices,) = ctx.saved_tensors
        if not ctx.needs_input_grad[1]:
            return None, None, None
        flat = indices.reshape(-1)
        g = grad_output.reshape(flat.numel(), grad_output.shape[-1])
        if ctx.padding_idx is not None:
            g = g * (flat != ctx.padding_idx).unsqueeze(1).to(g.dtype)
        grad_weight = g.new_zeros(ctx.num_rows, g.shape[1]).index_add(0, flat, g)
        return None, grad_weight, None


def embedding(input: torch.Tensor, weight: torch.Tensor, padding_idx: int | None = None) -> torch.Tensor:
    """Look up rows of ``weight``, as :func:`torch.nn.functional.embedding`.

    Parameters
    ----------
    input : torch.Tensor
        Integer indices of any shape ``(*)``, each in ``[0, V)``.
    weight : torch.Tensor
        Floating-point matrix of shape ``(V, D)``.
    padding_idx : int or None
        A row (negative counts from the end) that gets no gradient, as in
        PyTorch; the lookup itself is unchanged.

    Returns
    -------
    torch.Tensor
        Shape ``(*, D)``: ``weight[input]``.

    Examples
    --------
    >>> import torch
    >>> w = torch.arange(6.0).view(3, 2).requires_grad_()
    >>> y = embedding(torch.tensor([2, 0, 2]), w, padding_idx=0)
    >>> y
    tensor([[4., 5.],
            [0., 1.],
            [4., 5.]], grad_fn=<EmbeddingFunctionBackward>)
    >>> y.sum().backward()
    >>> w.grad  # row 2 was used twice; row 0 is padding
    tensor([[0., 0.],
            [0., 0.],
            [2., 2.]])
    """
    check_tensor("embedding", "input", input)
    if input.dtype not in (torch.long, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(
            f"embedding: argument 'input' must hold integer indices (torch.long or torch.int), got dtype {input.dtype}"
        )
    check_floating("embedding", "weight", weight)
    check_ndim("embedding", "weight", weight, 2, "(V, D)")
    v = weight.shape[0]
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, int):
            raise TypeError(f"embedding: argument 'padding_idx' must be an int or None, got {padding_idx!r}")
        if not -v <= padding_idx < v:
            raise ValueError(
                f"embedding: argument 'padding_idx' must lie in [-{v}, {v}) for 'weight' of shape "
                f"(V, D) = {tuple(weight.shape)}, got {padding_idx}"
            )
        padding_idx = padding_idx % v
    if input.numel():
        lo, hi = int(input.min()), int(input.max())
        if lo < 0 or hi >= v:
            raise IndexError(
                f"embedding: argument 'input' holds index {lo if lo < 0 else hi}, outside [0, V) = [0, {v}) "
                f"for 'weight' of shape (V, D) = {tuple(weight.shape)}"
            )
    return EmbeddingFunction.apply(input.long(), weight, padding_idx)
