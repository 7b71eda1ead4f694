"""The bookkeeping of one customer page's frames, with no socket in it: sequence numbers, whether
the agent has a snapshot to apply changes to, and chunked frames being reassembled.

The customer's consumer asks it what to do with each frame and does the talking
(tests/test_stream.py tests it alone)."""

import re
from dataclasses import dataclass, field
from enum import Enum
from json.decoder import scanstring  # type: ignore[attr-defined]  # the C scanner


class Verdict(Enum):
    RELAY = "relay"  # pass the frame on (after the guard)
    GAP = "gap"  # a frame went missing: ask the widget for a fresh snapshot, drop this one
    WAIT = "wait"  # changes to a page the agent has not seen yet: drop until a snapshot


class ChunkError(Enum):
    OUT_OF_ORDER = "bad_chunk"
    TOO_LARGE = "snapshot_too_large"


@dataclass
class PageStream:
    max_bytes: int  # COBROWSE_MAX_SNAPSHOT_BYTES: the most a reassembled frame may hold
    expected_seq: int = 1
    awaiting_snapshot: bool = True
    chunks: list[str] = field(default_factory=list)
    chunk_bytes: int = 0

    def frame(self, seq: int, *, has_snapshot: bool) -> Verdict:
        """Where an events frame numbered `seq` stands. The next one expected is seq + 1."""
        if seq != self.expected_seq and not has_snapshot:
            self.expected_seq = seq + 1
            self.awaiting_snapshot = True
            return Verdict.GAP
        self.expected_seq = seq + 1
        if has_snapshot:
            self.awaiting_snapshot = False
        return Verdict.WAIT if self.awaiting_snapshot else Verdict.RELAY

    def snapshot_requested(self) -> None:
        """A fresh snapshot was asked for: changes wait for it."""
        self.awaiting_snapshot = True

    def chunk(self, part, last, piece) -> tuple[str | None, ChunkError | None]:
        """Add one chunk. Returns (the whole text, None) on the last one, (None, None) while more
        are to come, (None, error) when the chunks cannot make a frame (then they are dropped)."""
        if not (
            isinstance(part, int)
            and not isinstance(part, bool)
            and isinstance(last, bool)
            and isinstance(piece, str)
            and part == len(self.chunks)
        ):
            self.drop_chunks()
            return None, ChunkError.OUT_OF_ORDER
        self.chunk_bytes += len(piece)
        if self.chunk_bytes > self.max_bytes:
            self.drop_chunks()
            return None, ChunkError.TOO_LARGE
        self.chunks.append(piece)
        if not last:
            return None, None
        text = "".join(self.chunks)
        self.drop_chunks()
        return text, None

    def drop_chunks(self) -> None:
        self.chunks, self.chunk_bytes = [], 0


CHUNK_HEAD = re.compile(
    r'\{"type":"chunk","seq":(\d{1,15}),"part":(\d{1,9}),"last":(true|false),"data":"'
)


def parse_chunk(text: str) -> dict | None:
    """A chunk frame in exactly the widget's layout, read at the cost of scanning one string
    (no nesting: linear and quick at any size), or None for anything else (parsed as JSON)."""
    head = CHUNK_HEAD.match(text)
    if head is None:
        return None
    try:
        data, end = scanstring(text, head.end())
    except ValueError:
        return None
    if text[end:] != "}":
        return None
    return {
        "type": "chunk",
        "seq": int(head.group(1)),
        "part": int(head.group(2)),
        "last": head.group(3) == "true",
        "data": data,
    }
