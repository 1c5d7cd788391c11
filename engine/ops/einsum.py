""""""
from .._tensor import Tensor
from ._registry import op
from .. import ops


_ELLIPSIS = "..."


def _diagonal(x, dim1, dim2):
    """x's main diagonal over dims dim1 < dim2, moved to the last dim (a view, as in PyTorch)."""
    return ops.diagonal(x, 0, dim1, dim2)


def _sumproduct_pair(left, right, sum_dims):
    """(left * right).sum(sum_dims, keepdim=True) through one bmm (at::native::sumproduct_pair)."""
    if not sum_dims:
        return left * right
    lro, lo, ro = [], [], []
    lro_size = lo_size = ro_size = sum_size = 1
    for i in range(left.ndim):
        sl, sr = left.shape[i] != 1, right.shape[i] != 1
        if i in sum_dims:
            if sl and sr:
                if left.shape[i] != right.shape[i]:
                    raise RuntimeError("non-broadcast dimensions must match")
                sum_size *= left.shape[i]
            elif sl:
                left = left.sum(i, True)
            elif sr:
                right = right.sum(i, True)
        elif sl and sr:
            if left.shape[i] != right.shape[i]:
                raise RuntimeError("non-broadcast dimensions must match")
            lro.append(i)
            lro_size *= left.shape[i]
        elif sl:
            lo.append(i)
            lo_size *= left.shape[i]
        else:
            ro.append(i)
            ro_size *= right.shape[i]
    out_size = ([left.shape[d] for d in lro] + [left.shape[d] for d in lo] + [1] * len(sum_dims)
                + [right.shape[d] for d in ro])
    lperm = lro + lo + sum_dims + ro
    rperm = lro + sum_dims + ro + lo
    operm = [0] * len(out_size)
    for i, d in enumerate(lro + lo + sum_dims + ro):
        operm[d] = i
    left = left.permute(lperm).reshape(lro_size, lo_size, sum_size)
    right = right.permute(rperm).reshape(lro_size, sum_size, ro_size)
    return ops.bmm(left, right).view(out_size).permute(operm)


def _label_list(spec, k):
    """One operand's labels: letters, and _ELLIPSIS for '...'; spaces ignored."""
    labels, i, seen_ell = [], 0, False
    while i < len(spec):
        c = spec[i]
        if c == " ":
            pass
        elif c == ".":
            if seen_ell:
                raise RuntimeError(f"einsum(): found '.' for operand {k} for which an ellipsis was already found")
            if spec[i:i + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any ellipsis")
            labels.append(_ELLIPSIS)
            seen_ell = True
            i += 2
        elif c.isascii() and c.isalpha():
            labels.append(c)
        else:
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation string, "
                               "subscripts must be in [a-zA-Z]")
        i += 1
    return labels


def _sublist_equation(args):
    """einsum(op1, sublist1, op2, sublist2, ..., [sublist_out]) as an equation and operands."""
    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif 0 <= s < 26:
                out.append(chr(ord("A") + s))
            elif 26 <= s < 52:
                out.append(chr(ord("a") + s - 26))
            else:
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid range [0, 52)")
        return "".join(out)
    aligned, specs = list(args[0::2]), [letters(s) for s in args[1::2]]
    if len(args) % 2:
        eq = ",".join(specs) + "->" + letters(args[-1])
        aligned = aligned[:-1]
    else:
        eq = ",".join(specs)
    return eq, aligned


def _order(label):
    """PyTorch numbers labels A-Z then a-z."""
    return ord(label) - ord("A") if label.isupper() else ord(label) - ord("a") + 26


@op(method=False)
def einsum(*args):
    """Sum of products over the labelled dims of the operands, as torch.einsum."""
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand, "
                        "or at least one operand and its subscripts list")
    if isinstance(args[0], Tensor):
        equation, operands = _sublist_equation(args)
    else:
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    lhs, arrow, rhs = equation.partition("->")
    specs = lhs.split(",")
    if len(specs) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(specs) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    op_labels = [_label_list(s, k) for k, s in enumerate(specs)]

    # label counts and the number of dims the widest ellipsis covers
    count, ell_num_dim = {}, 0
    for k, (x, labels) in enumerate(zip(operands, op_labels)):
        n = len([c for c in labels if c != _ELLIPSIS])
        has_ell = _ELLIPSIS in labels
        if has_ell:
            ell_num_dim = max(ell_num_dim, x.ndim - n)
        for c in labels:
            if c != _ELLIPSIS:
                count[c] = count.get(c, 0) + 1
        if (n > x.ndim) if has_ell else (n != x.ndim):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({n}) "
                + ("is more than the number of dimensions (" if has_ell else "does not match the number of dimensions (")
                + f"{x.ndim}) for operand {k}" + ("" if has_ell else " and no ellipsis was given"))

    # where each label goes in the aligned shape: output labels first, then summed ones
    perm_index, ell_index, ell_in_output, pos = 0, 0, False, {}
    if not arrow:
        perm_index, ell_in_output = ell_num_dim, True
        for c in sorted(count, key=_order):
            if count[c] == 1:
                pos[c] = perm_index
                perm_index += 1
    else:
        out_labels = _label_list(rhs, 0) if "." not in rhs or rhs.count(".") == 3 else None
        if out_labels is None:
            raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis (...)")
        for c in out_labels:
            if c == _ELLIPSIS:
                ell_index, ell_in_output = perm_index, True
                perm_index += ell_num_dim
                continue
            if c not in count or c in pos:
                raise RuntimeError(f"einsum(): output subscript {c} " + (
                    "appears more than once in the output" if c in pos
                    else "does not appear in the equation for any input operand"))
            pos[c] = perm_index
            perm_index += 1
    out_num_dim = perm_index
    if not ell_in_output:
        ell_index = perm_index
        perm_index += ell_num_dim
    for c in sorted(count, key=_order):
        if c not in pos:
            pos[c] = perm_index
            perm_index += 1

    # diagonals for repeated labels, unsqueeze missing ones, permute to the aligned order
    label_size, ell_sizes, dim_counts, aligned = {}, [1] * ell_num_dim, [0] * perm_index, []
    for k, (x, labels) in enumerate(zip(operands, op_labels)):
        op, permutation, dim = x, [-1] * perm_index, 0
        for c in labels:
            if c == _ELLIPSIS:
                ndim = x.ndim - (len(labels) - 1)
                for j in range(ell_num_dim - ndim, ell_num_dim):
                    size = op.shape[dim]
                    if size != 1:
                        if ell_sizes[j] not in (1, size):
                            raise RuntimeError(
                                f"einsum(): dimension {dim} covered by ellipsis in operand {k}has size {size} which "
                                f"does not broadcast with previously seen ellipsis with size {ell_sizes[j]} for the "
                                "respective dimension")
                        ell_sizes[j] = size
                        dim_counts[ell_index + j] += 1
                    permutation[ell_index + j] = dim
                    dim += 1
            elif permutation[pos[c]] == -1:
                size = op.shape[dim]
                if size != 1:
                    if label_size.get(c, 1) not in (1, size):
                        raise RuntimeError(f"einsum(): subscript {c} has size {size} for operand {k} which does not "
                                           f"broadcast with previously seen size {label_size[c]}")
                    label_size[c] = size
                    dim_counts[pos[c]] += 1
                permutation[pos[c]] = dim
                dim += 1
            else:
                prev = permutation[pos[c]]
                if op.shape[dim] != op.shape[prev]:
                    raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                                       f"match, {op.shape[dim]} != {op.shape[prev]}")
                op = _diagonal(op, prev, dim).movedim(-1, prev)
        for i, p in enumerate(permutation):
            if p == -1:
                op = op.unsqueeze(dim)
                permutation[i] = dim
                dim += 1
        aligned.append(op.permute(permutation))

    # contract left to right
    while len(aligned) > 1:
        a, b = aligned.pop(0), aligned.pop(0)
        sum_dims, a_sum, b_sum = [], [], []
        for d in range(out_num_dim, perm_index):
            if a.shape[d] != 1 and b.shape[d] != 1:
                dim_counts[d] -= 1
                if dim_counts[d] == 1:
                    sum_dims.append(d)
                    dim_counts[d] = 0
            elif dim_counts[d] == 1:
                if a.shape[d] != 1:
                    a_sum.append(d)
                    dim_counts[d] = 0
                elif b.shape[d] != 1:
                    b_sum.append(d)
                    dim_counts[d] = 0
        if a_sum:
            a = a.sum(a_sum, True)
        if b_sum:
            b = b.sum(b_sum, True)
        aligned.insert(0, _sumproduct_pair(a, b, sum_dims))

    result = aligned[0]
    if perm_index > out_num_dim:
        if len(operands) > 1:
            return result.view(result.shape[:out_num_dim])
        return result.sum(list(range(out_num_dim, perm_index)))
    return result
