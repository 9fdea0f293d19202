"""A refused sign-in's detail may carry what a browser sent (the provider's `error`): it is
logged on one line, so that nobody can write lines of their own into the server's log."""

from __future__ import annotations

from app.residents.oidc import SignInRefused


def test_what_the_browser_sent_cannot_start_a_new_line_in_the_log() -> None:
    refused = SignInRefused("denied", "access_denied\n2026-12-04 INFO forged line\r\x1b[2J")
    logged = str(refused)
    assert "\n" not in logged
    assert "\r" not in logged
    assert "\x1b" not in logged
    assert logged == "denied: access_denied\\n2026-12-04 INFO forged line\\r\\x1b[2J"
    assert refused.reason == "denied"


def test_a_plain_detail_is_kept_as_it_is() -> None:
    assert str(SignInRefused("code", "invalid_grant: été")) == "code: invalid_grant: été"
    assert str(SignInRefused("flow")) == "flow"
