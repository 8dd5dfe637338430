"""Channel names and the prebuilt WebSocket frames, checked by Tornado's own client."""

from __future__ import annotations

import json

import pytest
import tornado.websocket

from tests.realtime.rt_support import listen
from tornagram.realtime import (
    Event,
    check_tornado_internals,
    encode_payload,
    encode_text_frame,
    event_id_key,
    parse_channel,
    post_channel,
    room_channel,
    user_channel,
    write_frame,
)
from tornagram.realtime.frames import pending_bytes

FRAME_LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 200_000]


def test_channel_names_round_trip():
    assert post_channel(42) == "post:42"
    assert user_channel(7) == "user:7"
    assert room_channel("night-owls-2") == "room:night-owls-2"
    assert parse_channel("post:42") == ("post", "42")
    assert parse_channel("user:7") == ("user", "7")
    assert parse_channel("room:night-owls-2") == ("room", "night-owls-2")
    assert parse_channel("room:" + "a" * 40) == ("room", "a" * 40)


@pytest.mark.parametrize(
    "name",
    ["", "post:", "post:0", "post:007", "post:-1", "post:1.5", "post:1 ", " post:1",
     "Post:1", "photo:1", "user:abc", "room:", "room:Upper", "room:a_b", "room:a/b",
     "room:" + "a" * 41, "post:1:2", "post:99999999999999999999", "room:é", "post:1\n",
     None, 42],
)
def test_parse_channel_rejects(name):
    with pytest.raises(ValueError):
        parse_channel(name)


def test_channel_builders_reject_bad_input():
    for bad in (0, -3, 2**63):
        with pytest.raises(ValueError):
            post_channel(bad)
    for slug in ("", "UP", "a b", "x" * 41):
        with pytest.raises(ValueError):
            room_channel(slug)


def test_event_ids_compare_numerically_and_reject_garbage():
    assert event_id_key("9-5") < event_id_key("10-0") < event_id_key("10-1")
    for bad in ("", "1", "1-", "-1", "a-b", "1-2-3", "1-2 ", None):
        with pytest.raises(ValueError):
            event_id_key(bad)


def test_payload_is_object_for_one_event_and_list_for_several():
    one = Event("post:1", "comment.created", {"body": "你好"}, "5-0")
    two = Event("post:1", "comment.created", {"body": "hi"}, "5-1")
    assert json.loads(encode_payload([one])) == {
        "channel": "post:1", "event": "comment.created", "id": "5-0", "data": {"body": "你好"}
    }
    assert json.loads(encode_payload([one, two])) == [one.to_wire(), two.to_wire()]
    assert "你好".encode() in encode_payload([one])  # not \\u-escaped: CJK stays compact


def test_frame_headers():
    assert encode_text_frame(b"") == b"\x81\x00"
    assert encode_text_frame(b"a" * 125)[:2] == b"\x81\x7d"
    assert encode_text_frame(b"a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert encode_text_frame(b"a" * 65535)[:4] == b"\x81\x7e\xff\xff"
    assert encode_text_frame(b"a" * 65536)[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")
    assert len(encode_text_frame(b"a" * 65536)) == 65536 + 10


class PushFrames(tornado.websocket.WebSocketHandler):
    """Sends one prebuilt frame per requested length, then a marker."""

    def get_compression_options(self) -> None:
        return None

    def open(self) -> None:
        for length in FRAME_LENGTHS:
            text = ("é" * length)[: length // 2] + "a" * (length - 2 * (length // 2))
            assert len(text.encode()) == length
            assert write_frame(self, encode_text_frame(text.encode()))
        assert pending_bytes(self) >= 0
        write_frame(self, encode_text_frame(b"done"))


async def test_tornado_client_decodes_prebuilt_frames():
    server, port = listen(tornado.web.Application([(r"/", PushFrames)]))
    try:
        conn = await tornado.websocket.websocket_connect(
            f"ws://127.0.0.1:{port}/", max_message_size=1 << 20
        )
        received = [await conn.read_message() for _ in FRAME_LENGTHS]
        assert await conn.read_message() == "done"
        for length, message in zip(FRAME_LENGTHS, received, strict=True):
            assert isinstance(message, str), "must arrive as a text message"
            assert len(message.encode()) == length
            assert message.strip("éa") == ""
        conn.close()
    finally:
        server.stop()
        await server.close_all_connections()


class Closer(tornado.websocket.WebSocketHandler):
    def open(self) -> None:
        self.close(1000)
        assert write_frame(self, encode_text_frame(b"late")) is False
        assert pending_bytes(self) == 0


async def test_write_frame_reports_closed_socket():
    server, port = listen(tornado.web.Application([(r"/", Closer)]))
    try:
        conn = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{port}/")
        assert await conn.read_message() is None
        assert conn.close_code == 1000
    finally:
        server.stop()
        await server.close_all_connections()


async def test_tornado_internals_are_what_frames_py_expects():
    check_tornado_internals()
