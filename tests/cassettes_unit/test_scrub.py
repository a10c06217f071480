from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, quote

import pytest
from vcr.serialize import serialize

from laios_conformance.cassettes import PLACEHOLDER, SafePersister, make_scrubbers
from laios_conformance.cassettes import serializer as laios_yaml

from .helpers import cassette_dict, request, response


def planted(key: str):
    req = request(
        uri=f"https://api.example.com/v1/chat?api-version=2024-05-01&key={key}&note=k{quote(key)}",
        body=json.dumps({"model": "m", "messages": [{"role": "user", "content": f"key {key}"}]}).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "x-api-key": key,
            "X-Custom-Auth": key,
            "content-type": "application/json",
            "x-stainless-os": "Linux",
        },
    )
    resp = response(
        body=f'data: {{"echo": "{key}"}}\n\n'.encode(),
        headers={
            "content-type": ["text/event-stream"],
            "set-cookie": [f"session={key}; Path=/"],
            "openai-organization": ["org-abc123"],
            "x-request-id": [f"req_{key}"],
            "retry-after": ["2"],
            "content-length": ["99"],
        },
    )
    return req, resp


def scrubbed(key: str):
    before_request, before_response = make_scrubbers([key])
    req, resp = planted(key)
    return before_request(req), before_response(resp)


def test_a_planted_key_never_reaches_the_serialized_cassette(fake_key: str) -> None:
    text = serialize(cassette_dict(scrubbed(fake_key)), laios_yaml)
    assert fake_key not in text
    assert quote(fake_key, safe="") not in text
    assert PLACEHOLDER in text


def test_headers_holding_the_key_keep_only_their_name_and_noise_is_removed(fake_key: str) -> None:
    """Where the key went is kept (key-reaches-request compares a replay against it); the
    whole value is the placeholder, so nothing around the key (a scheme, a user) survives."""
    req, _ = scrubbed(fake_key)
    assert {name.lower(): value for name, value in req.headers.items()} == {
        "authorization": f"Bearer {PLACEHOLDER}",  # the scheme stays: sent without it, the key is refused
        "x-api-key": PLACEHOLDER,
        "x-custom-auth": PLACEHOLDER,
        "content-type": "application/json",
    }


def test_a_key_inside_basic_credentials_marks_its_header_and_scrubbing_twice_changes_nothing(fake_key: str) -> None:
    before_request, _ = make_scrubbers([fake_key])
    basic = "Basic " + base64.b64encode(f"user:{fake_key}".encode()).decode()
    once = before_request(request(uri="https://api.example.com/v1/chat", body=b"{}", headers={"Authorization": basic}))
    assert dict(once.headers) == {"Authorization": PLACEHOLDER}
    assert dict(before_request(once).headers) == {"Authorization": PLACEHOLDER}


def test_a_header_named_as_a_credential_is_dropped_even_with_a_key_the_kit_does_not_know() -> None:
    """A key read from the environment is not one the kit can replace: the header goes."""
    before_request, _ = make_scrubbers([])
    headers = {
        "Ocp-Apim-Subscription-Key": "0123456789abcdef0123456789abcdef",
        "X-Amz-Security-Token": "FwoGZXIvYXdzEJr",
        "x_client_secret": "s3cr3t-value",
        "Anthropic-Version": "2023-06-01",
        "X-Keyboard-Layout": "us",
    }
    req = before_request(request(uri="https://api.example.com/v1/chat", body=b"{}", headers=headers))
    assert set(req.headers) == {"Anthropic-Version", "X-Keyboard-Layout"}


def test_a_header_whose_value_is_a_credential_is_dropped_whatever_its_name() -> None:
    """A key the kit was not told of, under a name no credential's word is in: an auth scheme
    with a token, or a key's shape, is enough (seen: ``x-client-bearer: Bearer sk-...``)."""
    before_request, _ = make_scrubbers([])
    headers = {
        "X-Client-Bearer": "Bearer sk-loopbackTESTkey0123456789abcdef",
        "X-Upstream": "Basic dXNlcjpwYXNzd29yZDEyMw==",
        "X-Passed-On": "gsk_0123456789abcdefghijABCDEFGHIJ",
        "X-Client-Bearer-Name": "laios",  # a credential's word in its name: dropped by name
        "X-Request-Source": "laios-conformance",
        "X-Note": "Bearer of news",
    }
    req = before_request(request(uri="https://api.example.com/v1/chat", body=b"{}", headers=headers))
    assert set(req.headers) == {"X-Request-Source", "X-Note"}


def test_a_key_query_parameter_keeps_only_its_name_and_others_are_kept(fake_key: str) -> None:
    req, _ = scrubbed(fake_key)
    assert dict(req.query) == {"api-version": "2024-05-01", "key": PLACEHOLDER, "note": f"k{PLACEHOLDER}"}


def test_a_key_query_parameter_holding_an_unknown_key_is_removed() -> None:
    before_request, _ = make_scrubbers(["not-the-key-it-sends"])
    req = before_request(request(uri="https://api.example.com/v1/chat?key=AIzaSyUnknown0123456789&alt=sse"))
    assert dict(req.query) == {"alt": "sse"}


def test_a_query_parameter_named_as_a_credential_is_dropped_even_with_a_key_the_kit_does_not_know() -> None:
    """As for headers: a key read from the environment cannot be replaced, so the parameter goes."""
    before_request, _ = make_scrubbers([])
    names = ("token", "auth", "subscription-key", "access-token", "x-api-key", "client_secret")
    query = "&".join(f"{name}=0123456789abcdef0123" for name in names)
    req = before_request(request(uri=f"https://api.example.com/v1/chat?{query}&max_tokens=5&alt=sse"))
    assert dict(req.query) == {"max_tokens": "5", "alt": "sse"}


def test_a_body_key_field_holding_a_key_the_kit_does_not_know_is_removed(fake_key: str) -> None:
    """As the query's ``?api_key=``: a JSON body's ``api_key`` read from the environment."""
    before_request, _ = make_scrubbers([fake_key])
    unknown = {"api_key": "tvly-0123456789abcdef", "query": "x", "max_tokens": 5}
    req = before_request(request(uri="https://api.example.com/search", body=json.dumps(unknown).encode()))
    assert json.loads(req.body) == {"query": "x", "max_tokens": 5}
    assert before_request(req).body == req.body
    known = before_request(
        request(uri="https://api.example.com/search", body=json.dumps({"api_key": fake_key}).encode())
    )
    assert json.loads(known.body) == {"api_key": PLACEHOLDER}  # where the known key went stays


def test_a_nested_body_key_field_holding_an_unknown_key_is_removed_and_nothing_else() -> None:
    before_request, _ = make_scrubbers([])
    body = {
        "auth": {"api_key": "tvly-0123456789abcdef", "user": "me"},
        "messages": [{"role": "user", "content": "Hi.", "key": "sk-nested-0123456789abcdef"}],
        "tools": [{"parameters": {"properties": {"key": {"type": "string"}}}}],
        "eos_token": "</s>",
    }
    req = before_request(request(uri="https://api.example.com/v1/chat", body=json.dumps(body).encode()))
    assert json.loads(req.body) == {
        "auth": {"user": "me"},
        "messages": [{"role": "user", "content": "Hi."}],
        "tools": [{"parameters": {"properties": {"key": {"type": "string"}}}}],  # a schema, not a key
        "eos_token": "</s>",
    }
    assert before_request(req).body == req.body


def test_replay_matches_a_cassette_recorded_before_the_key_parameter_was_kept(fake_key: str) -> None:
    from laios_conformance.cassettes.matching import query

    before_request, _ = make_scrubbers([fake_key])
    live = before_request(request(uri=f"https://api.example.com/v1/chat?alt=sse&key={fake_key}"))
    query(live, request(uri="https://api.example.com/v1/chat?alt=sse"))  # no AssertionError
    query(live, before_request(request(uri=f"https://api.example.com/v1/chat?alt=sse&key={fake_key}")))
    with pytest.raises(AssertionError, match="queries differ"):
        query(live, request(uri="https://api.example.com/v1/chat?alt=json"))


def test_response_headers_are_cut_to_the_allow_list(fake_key: str) -> None:
    _, resp = scrubbed(fake_key)
    assert set(resp["headers"]) == {"content-type", "x-request-id", "retry-after"}
    assert resp["headers"]["x-request-id"] == [f"req_{PLACEHOLDER}"]


def test_extra_kept_headers_can_be_asked_for_but_never_cookies(fake_key: str) -> None:
    _, before_response = make_scrubbers([fake_key], keep_response_headers=["Set-Cookie", "openai-organization"])
    _, resp = planted(fake_key)
    assert set(before_response(resp)["headers"]) == {"content-type", "x-request-id", "retry-after"}


def test_bodies_are_redacted_and_json_requests_pretty_and_stable(fake_key: str) -> None:
    req, resp = scrubbed(fake_key)
    assert resp["body"]["string"] == b'data: {"echo": "<REDACTED>"}\n\n'
    assert req.body.decode().splitlines()[:3] == ["{", '  "messages": [', "    {"]
    assert json.loads(req.body)["messages"][0]["content"] == f"key {PLACEHOLDER}"


def test_scrubbing_is_idempotent_and_leaves_inputs_alone(fake_key: str) -> None:
    before_request, before_response = make_scrubbers([fake_key])
    req, resp = planted(fake_key)
    once_req, once_resp = before_request(req), before_response(resp)
    assert req.headers["x-api-key"] == fake_key and resp["headers"]["set-cookie"]
    twice_req, twice_resp = before_request(once_req), before_response(once_resp)
    assert (twice_req.uri, twice_req.body, dict(twice_req.headers)) == (
        once_req.uri,
        once_req.body,
        dict(once_req.headers),
    )
    assert twice_resp == once_resp


def test_short_or_empty_secrets_are_ignored() -> None:
    before_request, _ = make_scrubbers(["", "abc"])
    req = before_request(request(body=b"abcabc"))
    assert req.body == b"abcabc"


def test_persister_redacts_even_without_the_scrubbers(tmp_path, fake_key: str) -> None:
    req, resp = planted(fake_key)
    path = tmp_path / "raw.yaml"
    SafePersister(secrets=[fake_key]).save_cassette(path, cassette_dict((req, resp)), laios_yaml)
    assert fake_key.encode() not in path.read_bytes()


def test_the_places_the_key_went_read_back_from_the_cassette(tmp_path, fake_key: str) -> None:
    from laios_conformance.cassettes import recorded_key_places

    before_request, before_response = make_scrubbers([fake_key])
    req = request(
        uri="https://api.example.com/v1/chat",
        body=json.dumps({"api_key": fake_key, "note": f"k{fake_key}"}).encode(),
        headers={"x-api-key": fake_key, "content-type": "application/json"},
    )
    path = tmp_path / "clause.yaml"
    path.write_text(serialize(cassette_dict((before_request(req), before_response(response()))), laios_yaml))
    assert set(recorded_key_places([path])) == {"header:x-api-key", "body:api_key"}
    in_query = tmp_path / "query.yaml"
    req = before_request(request(uri=f"https://api.example.com/v1/chat?key={fake_key}"))
    in_query.write_text(serialize(cassette_dict((req, before_response(response()))), laios_yaml))
    assert set(recorded_key_places([in_query])) == {"query:key"}
    nested = tmp_path / "nested.yaml"
    body = json.dumps({"auth": {"api_key": fake_key}, "model": "m"}).encode()
    req = before_request(request(uri="https://api.example.com/v1/chat", body=body))
    nested.write_text(serialize(cassette_dict((req, before_response(response()))), laios_yaml))
    assert recorded_key_places([nested]) == {"body:auth.api_key": {PLACEHOLDER}}
    keyless = tmp_path / "keyless.yaml"
    keyless.write_text(serialize(cassette_dict(scrubbed_without_key()), laios_yaml))
    assert recorded_key_places([keyless, tmp_path / "missing.yaml"]) == {}


def scrubbed_without_key():
    before_request, before_response = make_scrubbers([])
    req = request(uri="https://api.example.com/v1/chat", body=b"{}", headers={"authorization": "Bearer unknown-1234"})
    return before_request(req), before_response(response())


@pytest.mark.parametrize("before", ["", "u:", "ab:", "laios:"])
@pytest.mark.parametrize("after", ["", "x", "xy"])
def test_a_key_is_found_inside_any_base64_text(fake_key: str, before: str, after: str) -> None:
    """What no-secret-leak hunts besides the key itself: HTTP Basic credentials, logged."""
    from laios_conformance._redact import base64_forms

    encoded = base64.b64encode(f"{before}{fake_key}{after}".encode()).decode()
    assert any(form in encoded for form in base64_forms(fake_key))
    assert not any(
        form in base64.b64encode(f"{before}{fake_key[:-1]}".encode()).decode() for form in base64_forms(fake_key)
    )


@pytest.mark.parametrize(
    ("sent", "written"),
    [
        ("Bearer {key}", "Bearer <REDACTED>"),
        ("token   {key}", "token <REDACTED>"),
        ("{key}", "<REDACTED>"),
        ("Bearer {key} org-secret-9", "<REDACTED>"),
        ("Splunk {key}", "<REDACTED>"),
    ],
    ids=["bearer", "token", "bare", "more than the key", "unknown scheme"],
)
def test_only_a_known_scheme_beside_the_key_is_written_down(fake_key: str, sent: str, written: str) -> None:
    before_request, _ = make_scrubbers([fake_key])
    once = before_request(request(headers={"Authorization": sent.format(key=fake_key)}))
    assert dict(once.headers) == {"Authorization": written}
    assert dict(before_request(once).headers) == {"Authorization": written}  # scrubbing again changes nothing


def test_the_forms_of_the_key_read_back_from_the_cassette(tmp_path, fake_key: str) -> None:
    from laios_conformance.cassettes import recorded_key_places

    before_request, before_response = make_scrubbers([fake_key])
    req = before_request(request(headers={"Authorization": f"Bearer {fake_key}", "x-api-key": fake_key}))
    path = tmp_path / "clause.yaml"
    path.write_text(serialize(cassette_dict((req, before_response(response()))), laios_yaml))
    assert recorded_key_places([path]) == {
        "header:authorization": {f"Bearer {PLACEHOLDER}"},
        "header:x-api-key": {PLACEHOLDER},
    }


def test_a_json_document_body_is_scrubbed_as_the_bytes_sent(fake_key: str) -> None:
    """vcrpy's aiohttp stub records ``json=`` as the document itself, not bytes: the key in
    it must be redacted all the same (it reached the cassette as it was)."""
    before_request, _ = make_scrubbers([fake_key])
    sent = {"model": "m", "auth": {"api_key": fake_key}, "messages": [{"role": "user", "content": "hi"}]}
    req = before_request(request(body=sent))  # type: ignore[arg-type]  # a dict body, as vcrpy may hand one over
    assert fake_key not in serialize(cassette_dict((req, response())), laios_yaml)
    assert json.loads(req.body) == {**sent, "auth": {"api_key": PLACEHOLDER}}


def test_a_key_echoed_back_inside_http_basic_credentials_is_scrubbed(fake_key: str) -> None:
    """A server that echoes the request's ``Authorization: Basic base64(user:key)`` put the
    credential, which decodes to the key, in the response's header and body, and nothing
    caught it (the kit's own no-secret-leak calls that form the key)."""
    from laios_conformance._redact import base64_forms, redact

    credential = base64.b64encode(f"user:{fake_key}".encode()).decode()
    _, before_response = make_scrubbers([fake_key])
    echoed = response(body=f'{{"seen": "Basic {credential}"}}'.encode(), headers={"x-request-id": [credential]})
    text = serialize(cassette_dict((request(), before_response(echoed))), laios_yaml)
    assert not any(form in text for form in base64_forms(fake_key)), text
    assert not any(form in redact(f"refused: Basic {credential}", [fake_key]) for form in base64_forms(fake_key))


def test_an_oauth_token_request_keeps_no_credential_of_its_form_body() -> None:
    """gcloud's application default credentials refresh their token so (a Vertex AI client
    records it before its first call); the kit knows none of these values."""
    before_request, _ = make_scrubbers([])
    form = (
        "grant_type=refresh_token&client_id=764086051850-6qr4p6gpi6hn.apps.googleusercontent.com"
        "&client_secret=GOCSPX-0123456789abcdefABCDEFghij&refresh_token=1%2F%2F0gABCDEFfakeRefresh-token_99"
    )
    jwt = "assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl&grant_type=urn%3Aietf%3Aparams"
    for body in (form, jwt):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        req = before_request(request(uri="https://oauth2.googleapis.com/token", body=body.encode(), headers=headers))
        assert not any(secret in req.body for secret in (b"GOCSPX-0123", b"fakeRefresh", b"eyJhbGciOiJSUzI1NiJ9"))
        fields = dict(parse_qsl(req.body.decode()))
        assert {name for name, value in fields.items() if value == PLACEHOLDER} in (
            {"client_secret", "refresh_token"},
            {"assertion"},
        )
        assert fields["grant_type"] in ("refresh_token", "urn:ietf:params")
        assert before_request(req).body == req.body


def test_a_token_endpoint_s_answer_keeps_no_issued_credential() -> None:
    _, before_response = make_scrubbers([])
    issued = {"access_token": "ya29.a0AfH6SMBfake", "expires_in": 3599, "id_token": "eyJfake", "token_type": "Bearer"}
    resp = before_response(response(body=json.dumps(issued).encode(), headers={"content-type": ["application/json"]}))
    assert json.loads(resp["body"]["string"]) == dict(issued, access_token=PLACEHOLDER, id_token=PLACEHOLDER)
    assert before_response(resp) == resp
    answer = json.dumps({"choices": [{"logprobs": {"content": [{"token": "Hi"}]}}]}).encode()
    untouched = response(body=answer, headers={"content-type": ["application/json"]})
    assert before_response(untouched)["body"]["string"] == answer  # a model's tokens are no credential
