"""A customer page's frame bookkeeping on its own (sessions_app/stream.py): sequence gaps,
changes before a snapshot, and chunk reassembly."""

from sessions_app.stream import ChunkError, PageStream, Verdict


def test_changes_wait_for_a_snapshot_then_pass_in_sequence():
    stream = PageStream(max_bytes=100)
    assert stream.frame(1, has_snapshot=False) is Verdict.WAIT
    assert stream.frame(2, has_snapshot=True) is Verdict.RELAY
    assert stream.frame(3, has_snapshot=False) is Verdict.RELAY
    assert stream.expected_seq == 4


def test_a_missing_frame_is_a_gap_and_changes_wait_for_the_next_snapshot():
    stream = PageStream(max_bytes=100)
    stream.frame(1, has_snapshot=True)
    assert stream.frame(3, has_snapshot=False) is Verdict.GAP
    assert stream.frame(4, has_snapshot=False) is Verdict.WAIT  # in order again, but no page
    assert stream.frame(9, has_snapshot=True) is Verdict.RELAY  # a snapshot heals any gap
    assert stream.frame(10, has_snapshot=False) is Verdict.RELAY


def test_a_snapshot_request_holds_changes_until_the_snapshot_arrives():
    stream = PageStream(max_bytes=100)
    stream.frame(1, has_snapshot=True)
    stream.snapshot_requested()
    assert stream.frame(2, has_snapshot=False) is Verdict.WAIT
    assert stream.frame(3, has_snapshot=True) is Verdict.RELAY


def test_chunks_in_order_make_the_whole_text():
    stream = PageStream(max_bytes=100)
    assert stream.chunk(0, False, '{"type":') == (None, None)
    assert stream.chunk(1, False, '"events"') == (None, None)
    assert stream.chunk(2, True, "}") == ('{"type":"events"}', None)
    assert stream.chunks == [] and stream.chunk_bytes == 0


def test_chunks_out_of_order_or_malformed_are_dropped_with_an_error():
    for bad in [(2, True, "x"), (1, "yes", "x"), (1, True, 5), (True, True, "x"), ("1", True, "")]:
        stream = PageStream(max_bytes=100)
        assert stream.chunk(0, False, "first") == (None, None)
        assert stream.chunk(*bad) == (None, ChunkError.OUT_OF_ORDER), bad
        assert stream.chunks == [] and stream.chunk_bytes == 0


def test_chunks_past_the_size_limit_are_dropped():
    stream = PageStream(max_bytes=10)
    assert stream.chunk(0, False, "123456") == (None, None)
    assert stream.chunk(1, True, "78901") == (None, ChunkError.TOO_LARGE)
    assert stream.chunks == [] and stream.chunk_bytes == 0
    assert stream.chunk(0, True, "fresh") == ("fresh", None)  # the next frame starts clean


def test_a_chunk_in_the_widgets_layout_is_read_without_parsing_it_as_json():
    import json

    from sessions_app.stream import parse_chunk

    frame = {"type": "chunk", "seq": 3, "part": 2, "last": True, "data": 'a "quoted" \\ \u00e9'}
    assert parse_chunk(json.dumps(frame, separators=(",", ":"))) == frame
    for other in (
        json.dumps(frame),  # another layout: parsed as JSON instead
        json.dumps(frame, separators=(",", ":")) + " ",
        '{"type":"chunk","seq":1,"part":0,"last":false,"data":"unterminated}',
        '{"type":"chunk","seq":1,"part":0,"last":false,"data":"x","more":[[[]]]}',
    ):
        assert parse_chunk(other) is None
