"""Several questions about one scan in one row, sharing the scan's image tokens (shared-prefix packing).

A stage-1 example is the chat prefix with the scan's visual tokens (64 of its ~127 tokens in the tiny
preset) followed by a short question and answer. Packing K questions of one scan into one row keeps the
prefix once and lays the K question/answer segments after it:

    [prefix: chat header + image tokens] [segment 1] [segment 2] ... [segment K] [padding]

Segment k attends to the prefix and to itself only (never to another segment), and its positions
continue from the prefix as if it were the only question, so each segment's loss equals the loss of
its own unpacked row exactly (tests/model/test_packing.py), for fewer tokens.

`segment_ids` (B, T) describes a packed batch: 0 for the shared prefix, k >= 1 for segment k, -1 for
padding. An unpacked row is the special case of one segment.
"""

from __future__ import annotations

import torch

from retinavlm.model.loss import IGNORE_INDEX

PREFIX, PADDING = 0, -1


def pack_rows(
    groups: list[list[tuple[list[int], list[int]]]], image_token_id: int, pad_token_id: int
) -> dict[str, torch.Tensor]:
    """Right-padded input_ids, labels, segment_ids and attention_mask from groups of (ids, labels) rows of one
    scan each (`RetinaVLMProcessor.encode`).

    Every row of a group must share its prefix up to and including the last image token (the same
    chat header and scan); the rest of each row becomes one segment.
    """
    packed_ids, packed_labels, packed_segments = [], [], []
    for g, rows in enumerate(groups):
        if not rows:
            raise ValueError(f"group {g} is empty")
        prefix = _prefix(rows[0][0], image_token_id, g)
        ids, labels, segments = list(prefix), [IGNORE_INDEX] * len(prefix), [PREFIX] * len(prefix)
        for k, (row_ids, row_labels) in enumerate(rows, start=1):
            if row_ids[: len(prefix)] != prefix:
                raise ValueError(
                    f"group {g}, row {k}: its tokens up to the image differ from the group's first row; "
                    "only questions about the same scan with the image first can share a row"
                )
            ids += row_ids[len(prefix) :]
            labels += row_labels[len(prefix) :]
            segments += [k] * (len(row_ids) - len(prefix))
        packed_ids.append(ids)
        packed_labels.append(labels)
        packed_segments.append(segments)
    width = max(len(r) for r in packed_ids)
    segment_ids = _right_pad(packed_segments, PADDING, width)
    return {
        "input_ids": _right_pad(packed_ids, pad_token_id, width),
        "labels": _right_pad(packed_labels, IGNORE_INDEX, width),
        "segment_ids": segment_ids,
        "attention_mask": (segment_ids != PADDING).long(),
    }


def segment_positions(segment_ids: torch.Tensor) -> torch.Tensor:
    """Position ids: the prefix counts from 0 and every segment continues from the prefix's end."""
    positions = torch.zeros_like(segment_ids)
    prefix = segment_ids == PREFIX
    positions[prefix] = (prefix.long().cumsum(-1) - 1)[prefix]
    prefix_length = prefix.sum(-1, keepdim=True)
    for k in range(1, int(segment_ids.max().item()) + 1):
        mine = segment_ids == k
        positions[mine] = (mine.long().cumsum(-1) - 1 + prefix_length)[mine]
    return positions


def segment_attention_mask(segment_ids: torch.Tensor) -> torch.Tensor:
    """(B, 1, T, T) boolean mask, True where a query may attend: causal, within its segment or the prefix.

    A padding position attends to itself only, so that no attention row is empty (an empty row gives NaN).
    """
    length = segment_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=segment_ids.device).tril()
    query, key = segment_ids.unsqueeze(2), segment_ids.unsqueeze(1)
    allowed = causal & (key != PADDING) & (query != PADDING) & ((key == query) | (key == PREFIX))
    allowed |= torch.eye(length, dtype=torch.bool, device=segment_ids.device)
    return allowed.unsqueeze(1)


def question_index(segment_ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A running index of each token's question over the batch (-1 outside segments), and their number."""
    counts = segment_ids.max(dim=1).values.clamp(min=0)
    offsets = torch.cumsum(counts, 0) - counts
    index = torch.where(segment_ids > 0, segment_ids - 1 + offsets.unsqueeze(1), torch.full_like(segment_ids, -1))
    return index, int(counts.sum().item())


def _prefix(ids: list[int], image_token_id: int, group: int) -> list[int]:
    if image_token_id not in ids:
        raise ValueError(f"group {group}: its first row holds no image token, so there is no prefix to share")
    last = len(ids) - 1 - ids[::-1].index(image_token_id)
    return ids[: last + 1]


def _right_pad(rows: list[list[int]], value: int, width: int) -> torch.Tensor:
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)
