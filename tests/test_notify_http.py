"""The HTTP the JSON channels share: their session and one POST, against a real server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from monitor import __version__
from monitor.errors import DeliveryError
from monitor.notify.http import notifier_session, post_chat_json, post_json, timeouts

from hostile import HostileServer

SECRET_PATH = "/hook/SECRET-TOKEN"


def test_timeouts_cap_connecting_at_ten_seconds():
    assert timeouts(4) == (4, 4) and timeouts(30) == (10.0, 30)


def test_a_2xx_is_delivered_with_the_user_agent_and_body(httpserver):
    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_data("", status=204)
    session = notifier_session(allow_private_networks=True)
    response = post_json(session, httpserver.url_for(SECRET_PATH), b'{"a": 1}', {"Content-Type": "application/json"},
                         timeouts(5), what="webhook")
    assert response.status_code == 204
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"] == f"news-monitor/{__version__}" and request.get_json() == {"a": 1}


def test_loopback_is_refused_unless_allowed(httpserver):
    with pytest.raises(DeliveryError) as err:
        post_json(notifier_session(allow_private_networks=False), httpserver.url_for(SECRET_PATH), b"{}", {},
                  timeouts(5), what="webhook")
    assert err.value.transient is False and "refused" in str(err.value) and not httpserver.log


def test_a_redirect_is_a_failure_and_the_url_stays_out_of_the_message(httpserver):
    httpserver.expect_request(SECRET_PATH).respond_with_response(
        Response("", status=302, headers={"Location": "http://127.0.0.1:1/elsewhere"}))
    with pytest.raises(DeliveryError) as err:
        post_json(notifier_session(True), httpserver.url_for(SECRET_PATH), b"{}", {}, timeouts(5), what="webhook")
    assert err.value.status == 302 and "redirects are not followed" in str(err.value)
    assert "SECRET-TOKEN" not in str(err.value) and len(httpserver.log) == 1


def test_a_chat_refusal_carries_the_services_own_error_text_and_delay(httpserver):
    httpserver.expect_request(SECRET_PATH).respond_with_response(Response(
        json.dumps({"message": "Invalid Form Body", "code": 50035, "retry_after": 2.5}), status=429,
        headers={"Content-Type": "application/json", "Retry-After": "9"}))
    with pytest.raises(DeliveryError) as err:
        post_chat_json(notifier_session(True), httpserver.url_for(SECRET_PATH), {"content": "é"}, timeouts(5),
                       what="discord", retry_after=lambda response: response.json()["retry_after"])
    assert str(err.value) == "discord answered HTTP 429 TOO MANY REQUESTS: Invalid Form Body (50035)"
    assert (err.value.status, err.value.retry_after, err.value.transient) == (429, 2.5, True)
    assert httpserver.log[0][0].get_data() == json.dumps({"content": "é"}, ensure_ascii=False).encode()


def test_an_answer_dripped_one_byte_at_a_time_is_cut_at_the_send_deadline():
    # Each byte arrives well within the read timeout; only a deadline on the whole send ends it.
    with HostileServer() as server:
        with pytest.raises(DeliveryError) as err:
            post_json(notifier_session(True), server.url("/slow-headers"), b"{}", {}, timeouts(1), what="webhook")
        assert server.finished.get(timeout=10) == ("/slow-headers", False)  # cut by us, not waited out
    assert "deadline of 2s" in str(err.value)  # the 1 s read timeout, and a second of grace for the whole send
    assert err.value.transient and err.value.maybe_delivered  # retried later with the same alert id
