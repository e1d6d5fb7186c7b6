"""attach_producer: off unless enable_message_ws; when on, a component, a health reporter and the route."""

from __future__ import annotations

from types import SimpleNamespace

from starlette.routing import WebSocketRoute

from tradecast.api.message_ws import MESSAGE_WS_PATH, ProducerComponent, _token, attach_producer


def fake_bot(enabled: bool) -> SimpleNamespace:
    bot = SimpleNamespace(config=SimpleNamespace(api_server=SimpleNamespace(enable_message_ws=enabled)),
                          analyzed_listeners=[], event_listeners=[], components=[], health_reporters={},
                          engine=SimpleNamespace(whitelist=[], open_trades={}))
    bot.add_component = bot.components.append
    return bot


def test_disabled_message_ws_attaches_nothing() -> None:
    bot = fake_bot(False)
    assert attach_producer(bot) == []
    assert bot.components == [] and bot.analyzed_listeners == [] and bot.health_reporters == {}


def test_enabled_message_ws_attaches_publisher_component_health_and_route() -> None:
    bot = fake_bot(True)
    (router,) = attach_producer(bot)
    assert [r.path for r in router.routes if isinstance(r, WebSocketRoute)] == [MESSAGE_WS_PATH]
    (component,) = bot.components
    assert isinstance(component, ProducerComponent) and component.name == "message_ws"
    assert len(bot.analyzed_listeners) == 1 and len(bot.event_listeners) == 1
    assert bot.health_reporters["message_ws"]() == {"subscribers": 0, "slow_disconnects": 0, "dropped": 0}


def test_token_candidates_bearer_first_then_query() -> None:
    ws = SimpleNamespace(headers={"authorization": "Bearer  abc "}, query_params={"token": "q"})
    assert _token(ws) == ["abc", "q"]
    ws = SimpleNamespace(headers={"authorization": "Basic abc"}, query_params={})
    assert _token(ws) == []
