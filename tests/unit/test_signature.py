"""X-Hub-Signature-256 verification over raw bytes, and the GET verification handshake."""

from __future__ import annotations

import hmac
import json
from pathlib import Path

import pytest

from inbox_crm.meta import signature
from inbox_crm.meta.signature import sign, verify_handshake, verify_signature

EVENTS = Path(__file__).resolve().parents[2] / "events"
BODY = b'{"object":"page","entry":[]}'
SECRET = "test-app-secret"
# HMAC-SHA256(key="test-app-secret", msg=BODY), computed independently.
KNOWN_SIGNATURE = "sha256=1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689"


# ------------------------------------------------------------------ sign


def test_sign_matches_an_independently_computed_hmac_sha256() -> None:
    assert sign(BODY, SECRET) == KNOWN_SIGNATURE


def test_sign_returns_the_header_value_with_64_lowercase_hex_digits() -> None:
    value = sign(b"anything", "secret")
    prefix, digest = value.split("=", 1)
    assert prefix == "sha256"
    assert len(digest) == 64
    assert digest == digest.lower()
    int(digest, 16)


# ------------------------------------------------------------------ verify_signature: accepted


def test_a_body_signed_with_the_only_secret_is_accepted() -> None:
    assert verify_signature(BODY, KNOWN_SIGNATURE, [SECRET]) is True


def test_a_body_signed_by_any_of_several_configured_apps_is_accepted() -> None:
    secrets = ["messenger-app-secret", "whatsapp-app-secret", "third-app-secret"]
    for secret in secrets:
        assert verify_signature(BODY, sign(BODY, secret), secrets) is True


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert verify_signature(BODY, f"  {KNOWN_SIGNATURE}\t", [SECRET]) is True


def test_uppercase_hex_digits_are_the_same_digest_and_are_accepted() -> None:
    upper = "sha256=" + KNOWN_SIGNATURE.removeprefix("sha256=").upper()
    assert verify_signature(BODY, upper, [SECRET]) is True


def test_bytearray_and_memoryview_bodies_are_accepted() -> None:
    assert verify_signature(bytearray(BODY), KNOWN_SIGNATURE, [SECRET]) is True  # type: ignore[arg-type]
    assert verify_signature(memoryview(BODY), KNOWN_SIGNATURE, [SECRET]) is True  # type: ignore[arg-type]


def test_a_bare_string_of_secrets_is_one_secret_not_one_secret_per_character() -> None:
    assert verify_signature(BODY, KNOWN_SIGNATURE, SECRET) is True
    # Were the string iterated, "t" would be a configured key and this forgery would pass.
    assert verify_signature(BODY, sign(BODY, "t"), SECRET) is False


def test_the_raw_bytes_meta_sent_verify_and_a_re_encoded_body_does_not() -> None:
    raw = (EVENTS / "messenger" / "text_escaped.json").read_bytes()
    assert b"\\u" in raw
    assert b"\\/" in raw  # Meta's escaped form
    header = sign(raw, SECRET)
    assert verify_signature(raw, header, [SECRET]) is True
    re_encoded = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert verify_signature(re_encoded, header, [SECRET]) is False


# ------------------------------------------------------------------ verify_signature: refused


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("sha256=", id="prefix-only"),
        pytest.param(KNOWN_SIGNATURE.removeprefix("sha256="), id="no-prefix"),
        pytest.param("sha1=" + "a" * 40, id="legacy-sha1"),
        pytest.param("sha1=" + KNOWN_SIGNATURE.removeprefix("sha256="), id="sha1-prefix-with-sha256-digest"),
        pytest.param("SHA256=" + KNOWN_SIGNATURE.removeprefix("sha256="), id="uppercase-prefix"),
        pytest.param("sha256 =" + KNOWN_SIGNATURE.removeprefix("sha256="), id="malformed-prefix"),
        pytest.param(KNOWN_SIGNATURE[:-1], id="63-hex-digits"),
        pytest.param(KNOWN_SIGNATURE + "0", id="65-hex-digits"),
        pytest.param(KNOWN_SIGNATURE[:-1] + "g", id="non-hex-digit"),
        pytest.param(KNOWN_SIGNATURE[:-1] + "é", id="non-ascii-digit"),
        pytest.param("sha256=" + "0" * 64, id="wrong-digest"),
        pytest.param(KNOWN_SIGNATURE + "," + KNOWN_SIGNATURE, id="two-values-joined"),
    ],
)
def test_malformed_or_wrong_signature_headers_are_refused(header: str | None) -> None:
    assert verify_signature(BODY, header, [SECRET]) is False


def test_a_tampered_body_is_refused() -> None:
    assert verify_signature(BODY + b" ", KNOWN_SIGNATURE, [SECRET]) is False


def test_a_body_signed_with_an_unknown_secret_is_refused() -> None:
    assert verify_signature(BODY, sign(BODY, "someone-else"), [SECRET, "second-app-secret"]) is False


@pytest.mark.parametrize("secrets", [[], (), [""], ["", ""]], ids=["list", "tuple", "one-empty", "all-empty"])
def test_no_usable_secret_refuses_everything(secrets: list[str]) -> None:
    # An HMAC keyed with "" is one anybody can compute: an empty secret must not verify anything.
    assert verify_signature(BODY, sign(BODY, ""), secrets) is False


def test_an_empty_secret_beside_a_real_one_is_ignored() -> None:
    assert verify_signature(BODY, sign(BODY, ""), ["", SECRET]) is False
    assert verify_signature(BODY, KNOWN_SIGNATURE, ["", SECRET]) is True


def test_a_text_body_is_refused_because_only_raw_bytes_can_be_verified() -> None:
    assert verify_signature(BODY.decode(), KNOWN_SIGNATURE, [SECRET]) is False  # type: ignore[arg-type]


def test_every_secret_is_compared_in_constant_time_even_after_a_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def counting_compare(left: bytes, right: bytes) -> bool:
        calls.append((left, right))
        return real_compare(left, right)

    monkeypatch.setattr(signature.hmac, "compare_digest", counting_compare)
    secrets = [SECRET, "second-app-secret", "third-app-secret"]
    assert verify_signature(BODY, KNOWN_SIGNATURE, secrets) is True  # the first secret matches
    assert len(calls) == len(secrets)


# ------------------------------------------------------------------ verify_handshake

TOKEN = "test-verify-token"


def _params(**overrides: str) -> dict[str, str]:
    params = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    params.update({key.replace("_", ".", 1): value for key, value in overrides.items()})
    return params


def test_handshake_returns_the_challenge_verbatim_as_a_string() -> None:
    challenge = verify_handshake(_params(), TOKEN)
    assert challenge == "1158201444"
    assert isinstance(challenge, str)


@pytest.mark.parametrize("challenge", ["0042", "a-random_string.With~chars", "１２３", "9" * 40])
def test_handshake_never_casts_or_normalises_the_challenge(challenge: str) -> None:
    assert verify_handshake(_params(hub_challenge=challenge), TOKEN) == challenge


def test_handshake_accepts_a_non_ascii_token() -> None:
    assert verify_handshake(_params(hub_verify_token="tökén-✓"), "tökén-✓") == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(_params(hub_verify_token="wrong"), id="wrong-token"),
        pytest.param(_params(hub_verify_token=TOKEN.upper()), id="token-case-differs"),
        pytest.param(_params(hub_verify_token=""), id="empty-token"),
        pytest.param(_params(hub_mode="unsubscribe"), id="wrong-mode"),
        pytest.param(_params(hub_mode="Subscribe"), id="mode-case-differs"),
        pytest.param(_params(hub_challenge=""), id="empty-challenge"),
        pytest.param({"hub.mode": "subscribe", "hub.challenge": "1"}, id="token-missing"),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": TOKEN}, id="challenge-missing"),
        pytest.param({"hub.verify_token": TOKEN, "hub.challenge": "1"}, id="mode-missing"),
        pytest.param(
            {"hub_mode": "subscribe", "hub_verify_token": TOKEN, "hub_challenge": "1"}, id="php-style-names"
        ),
        pytest.param({}, id="no-params"),
    ],
)
def test_handshake_is_refused_for_wrong_or_missing_parameters(params: dict[str, str]) -> None:
    assert verify_handshake(params, TOKEN) is None


@pytest.mark.parametrize("expected", [None, ""], ids=["none", "empty"])
def test_handshake_is_refused_when_no_token_is_configured(expected: str | None) -> None:
    assert verify_handshake(_params(hub_verify_token=""), expected) is None
    assert verify_handshake(_params(), expected) is None


def test_handshake_compares_the_token_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def counting_compare(left: bytes, right: bytes) -> bool:
        calls.append((left, right))
        return real_compare(left, right)

    monkeypatch.setattr(signature.hmac, "compare_digest", counting_compare)
    assert verify_handshake(_params(hub_verify_token="nope"), TOKEN) is None
    assert calls == [(b"nope", TOKEN.encode())]
