"""Templates v1 and v2 over HTTP (API.md Part B §7.2, §7.3): create, read, list, update and
delete, every validation error naming its field, v2 version rules and translation listing."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.integration.helpers import assert_error


@pytest.fixture
def v2(server: Server) -> Iterator[httpx.Client]:
    with server.client(prefix="/v2") as client:
        yield client


def tid(prefix: str = "tpl") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def greeting(text: str = "Hello ${name}, your order ${order} is ready") -> str:
    return json.dumps({"text_message": {"text": text}})


def v1_body(**fields: Any) -> dict[str, Any]:
    return {
        "id": tid(),
        "description": "Order ready",
        "version": "1",
        "channel": "CONVERSATION",
        "default_translation": "en-US",
        "translations": [
            {
                "language_code": "en-US",
                "version": "1",
                "content": greeting(),
                "variables": [
                    {"key": "name", "preview_value": "Ann"},
                    {"key": "order", "preview_value": "A-1"},
                ],
            }
        ],
        **fields,
    }


def v2_translation(language: str = "en-US", text: str = "Hi ${name}", **fields: Any) -> dict:
    return {
        "language_code": language,
        "text_message": {"text": text},
        "variables": [{"key": "name", "preview_value": "Ann"}] if "${name}" in text else [],
        **fields,
    }


def v2_body(**fields: Any) -> dict[str, Any]:
    return {
        "id": tid("v2"),
        "description": "Greeting",
        "default_translation": "en-US",
        "translations": [v2_translation()],
        **fields,
    }


# ---------------------------------------------------------------- v1


def test_v1_create_get_list_and_delete(api: httpx.Client) -> None:
    body = v1_body()
    created = api.post("/templates", json=body)
    assert created.status_code == 200, created.text
    template = created.json()
    assert template["id"] == body["id"]
    assert template["channel"] == "CONVERSATION"
    assert template["default_translation"] == "en-US"
    assert template["version"] == "1"
    translation = template["translations"][0]
    assert translation["content"] == body["translations"][0]["content"]
    assert translation["variables"] == body["translations"][0]["variables"]
    assert translation["create_time"].endswith("Z") and translation["update_time"]
    assert template["create_time"].endswith("Z")

    assert api.get(f"/templates/{body['id']}").json() == template
    listed = api.get("/templates").json()["templates"]
    assert template in listed

    assert api.delete(f"/templates/{body['id']}").json() == {}
    assert_error(api.get(f"/templates/{body['id']}"), 404, "NOT_FOUND")
    assert_error(api.delete(f"/templates/{body['id']}"), 404, "NOT_FOUND")


def test_v1_generates_an_id_and_defaults_the_channel(api: httpx.Client) -> None:
    created = api.post("/templates", json={"description": "bare"})
    assert created.status_code == 200, created.text
    template = created.json()
    assert len(template["id"]) == 26
    assert template["channel"] == "UNSPECIFIED"
    assert template["translations"] == []


def test_v1_templates_of_other_channels_are_stored_without_content_checks(
    api: httpx.Client,
) -> None:
    body = v1_body(channel="WHATSAPP")
    body["translations"][0]["content"] = "Hello {{1}}"
    body["translations"][0]["variables"] = []
    created = api.post("/templates", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["translations"][0]["content"] == "Hello {{1}}"


def test_v1_is_served_under_v1beta_too(server: Server) -> None:
    with server.client(prefix="/v1beta") as beta:
        body = v1_body()
        assert beta.post("/templates", json=body).status_code == 200
        assert beta.get(f"/templates/{body['id']}").json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"default_translation": "fr-FR"}, "default_translation"),
        ({"channel": "FAX"}, "channel"),
        (
            {"translations": [{"version": "1", "content": greeting("x")}]},
            "translations[0].language_code",
        ),
        (
            {"translations": [{"language_code": "en-US", "content": greeting("x")}]},
            "translations[0].version",
        ),
        (
            {"translations": [{"language_code": "en-US", "version": "1", "content": "{not json"}]},
            "translations[0].content",
        ),
        (
            {
                "translations": [
                    {"language_code": "en-US", "version": "1", "content": json.dumps({})}
                ]
            },
            "translations[0].content",
        ),
        (
            {
                "translations": [
                    {
                        "language_code": "en-US",
                        "version": "1",
                        "content": json.dumps({"text_message": {}}),
                    }
                ]
            },
            "translations[0].content.text_message.text",
        ),
        (
            {
                "translations": [
                    {
                        "language_code": "en-US",
                        "version": "1",
                        "content": json.dumps(
                            {"text_message": {"text": "a"}, "media_message": {"url": "https://x/y"}}
                        ),
                    }
                ]
            },
            "translations[0].content",
        ),
        (
            {"translations": [{"language_code": "en-US", "version": "1", "content": greeting()}]},
            "translations[0].variables",
        ),
        (
            {
                "translations": [
                    {
                        "language_code": "en-US",
                        "version": "1",
                        "content": greeting("no placeholders"),
                        "variables": [{"key": "name"}],
                    }
                ]
            },
            "translations[0].variables",
        ),
        (
            {
                "translations": [
                    {
                        "language_code": "en-US",
                        "version": "1",
                        "content": greeting("${a}"),
                        "variables": [{"key": "a"}, {"key": "a"}],
                    }
                ]
            },
            "translations[0].variables",
        ),
        (
            {
                "translations": [
                    {"language_code": "en-US", "version": "1", "content": greeting("x")},
                    {"language_code": "en_US", "version": "1", "content": greeting("y")},
                ]
            },
            "translations[1]",
        ),
        ({"id": "a/b"}, "id"),
        ({"id": "x" * 129}, "id"),
    ],
)
def test_v1_create_refuses_invalid_templates_naming_the_field(
    api: httpx.Client, change: dict[str, Any], field: str
) -> None:
    assert_error(
        api.post("/templates", json=v1_body(**change)), 400, "INVALID_ARGUMENT", field=field
    )


def test_a_placeholder_in_a_url_field_is_checked_with_its_preview_value(api: httpx.Client) -> None:
    content = json.dumps({"media_message": {"url": "${image}"}})
    good = v1_body(
        translations=[
            {
                "language_code": "en",
                "version": "1",
                "content": content,
                "variables": [{"key": "image", "preview_value": "https://cdn.example.com/a.jpg"}],
            }
        ],
        default_translation="en",
    )
    assert api.post("/templates", json=good).status_code == 200
    bad = v1_body(
        translations=[
            {
                "language_code": "en",
                "version": "1",
                "content": content,
                "variables": [{"key": "image", "preview_value": "not a url"}],
            }
        ],
        default_translation="en",
    )
    assert_error(
        api.post("/templates", json=bad), 400, field="translations[0].content.media_message.url"
    )


def test_ids_are_unique_across_v1_and_v2(api: httpx.Client, v2: httpx.Client) -> None:
    body = v1_body()
    assert api.post("/templates", json=body).status_code == 200
    assert_error(api.post("/templates", json=body), 409, "ALREADY_EXISTS")
    assert_error(v2.post("/templates", json=v2_body(id=body["id"])), 409, "ALREADY_EXISTS")
    # each API sees only its own templates
    assert_error(v2.get(f"/templates/{body['id']}"), 404)
    other = v2_body()
    assert v2.post("/templates", json=other).status_code == 200
    assert_error(api.post("/templates", json=v1_body(id=other["id"])), 409, "ALREADY_EXISTS")
    assert_error(api.get(f"/templates/{other['id']}"), 404)
    assert other["id"] not in [t["id"] for t in api.get("/templates").json()["templates"]]


def test_templates_are_per_project(server: Server, api: httpx.Client) -> None:
    body = v1_body()
    assert api.post("/templates", json=body).status_code == 200
    with server.client(server.other) as other:
        assert_error(other.get(f"/templates/{body['id']}"), 404)
        assert other.post("/templates", json=body).status_code == 200  # its own namespace
    with (
        server.client(server.other) as other,
        httpx.Client(
            base_url=f"{server.url}/v1/projects/{server.project_id}",
            auth=(server.other.key_id, server.other.key_secret),
        ) as foreign,
    ):
        assert foreign.get("/templates").status_code == 403
    assert httpx.get(f"{server.url}/v2/projects/{server.project_id}/templates").status_code == 401


def test_v1_patch_with_an_update_mask_changes_only_the_masked_fields(api: httpx.Client) -> None:
    body = v1_body()
    created = api.post("/templates", json=body).json()
    patched = api.patch(
        f"/templates/{body['id']}",
        params={"update_mask": "description,version"},
        json={"description": "Changed", "version": "2", "channel": "SMS"},
    )
    assert patched.status_code == 200, patched.text
    template = patched.json()
    assert template["description"] == "Changed"
    assert template["version"] == "2"
    assert template["channel"] == "CONVERSATION"  # not in the mask
    assert template["translations"] == created["translations"]
    assert template["update_time"] > created["update_time"]
    assert template["create_time"] == created["create_time"]


def test_v1_patch_accepts_every_update_mask_spelling(api: httpx.Client) -> None:
    body = v1_body()
    api.post("/templates", json=body)
    for params in (
        [("update_mask", "description")],
        [("update_mask.paths", "description")],
        [("update_mask", "description"), ("update_mask", "version")],
    ):
        answer = api.patch(
            f"/templates/{body['id']}", params=params, json={"description": str(params)}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["description"] == str(params)
    assert_error(
        api.patch(f"/templates/{body['id']}", params={"update_mask": "colour"}, json={}),
        400,
        field="update_mask",
    )


def test_v1_patch_without_a_mask_replaces_the_fields_present(api: httpx.Client) -> None:
    body = v1_body()
    api.post("/templates", json=body)
    new_translations = [
        {"language_code": "sv-SE", "version": "1", "content": greeting("Hej")},
        {"language_code": "en-US", "version": "2", "content": greeting("Hello")},
    ]
    answer = api.patch(
        f"/templates/{body['id']}",
        json={"translations": new_translations, "default_translation": "sv-SE"},
    )
    assert answer.status_code == 200, answer.text
    template = answer.json()
    assert [t["language_code"] for t in template["translations"]] == ["sv-SE", "en-US"]
    assert template["default_translation"] == "sv-SE"
    assert template["description"] == "Order ready"  # absent from the body: kept


def test_v1_patch_is_validated_like_create(api: httpx.Client) -> None:
    body = v1_body()
    api.post("/templates", json=body)
    assert_error(
        api.patch(f"/templates/{body['id']}", json={"default_translation": "de"}),
        400,
        field="default_translation",
    )
    assert_error(
        api.patch(
            f"/templates/{body['id']}",
            params={"update_mask": "translations"},
            json={"translations": [{"language_code": "en-US", "version": "1", "content": "x"}]},
        ),
        400,
        field="translations[0].content",
    )
    # a mask naming translations without a value clears them, and then the default names none
    assert_error(
        api.patch(f"/templates/{body['id']}", params={"update_mask": "translations"}, json={}),
        400,
        field="default_translation",
    )
    assert_error(api.patch("/templates/nope", json={"description": "x"}), 404)


# ---------------------------------------------------------------- v2


def test_v2_create_get_list_and_delete(v2: httpx.Client) -> None:
    body = v2_body(version=7)
    created = v2.post("/templates", json=body)
    assert created.status_code == 200, created.text
    template = created.json()
    assert template["version"] == 1  # the client's value is ignored
    assert template["id"] == body["id"]
    translation = template["translations"][0]
    assert translation["version"] == "1"
    assert translation["text_message"] == {"text": "Hi ${name}"}
    assert translation["variables"] == [{"key": "name", "preview_value": "Ann"}]
    assert translation["create_time"].endswith("Z")
    assert v2.get(f"/templates/{body['id']}").json() == template
    assert template in v2.get("/templates").json()["templates"]
    assert v2.delete(f"/templates/{body['id']}").json() == {}
    assert_error(v2.get(f"/templates/{body['id']}"), 404, "NOT_FOUND")
    assert_error(v2.delete(f"/templates/{body['id']}"), 404, "NOT_FOUND")
    assert_error(v2.get(f"/templates/{body['id']}/translations"), 404, "NOT_FOUND")


def test_v2_keeps_channel_template_overrides_and_any_content_kind(v2: httpx.Client) -> None:
    override = {
        "template_reference": {"template_id": "order_update", "language_code": "en_US"},
        "parameter_mappings": {"body[1]text": "name"},
    }
    body = v2_body(
        translations=[
            v2_translation(channel_template_overrides={"WHATSAPP": override}),
            {
                "language_code": "sv-SE",
                "card_message": {"title": "Hej ${name}", "description": "kort"},
                "variables": [{"key": "name"}],
            },
        ]
    )
    created = v2.post("/templates", json=body)
    assert created.status_code == 200, created.text
    first, second = created.json()["translations"]
    assert first["channel_template_overrides"]["WHATSAPP"]["template_reference"] == {
        "template_id": "order_update",
        "language_code": "en_US",
    }
    assert first["channel_template_overrides"]["WHATSAPP"]["parameter_mappings"] == {
        "body[1]text": "name"
    }
    assert second["card_message"] == {"title": "Hej ${name}", "description": "kort"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"translations": []}, "translations"),
        ({"default_translation": "fr-FR"}, "default_translation"),
        ({"default_translation": None}, "default_translation"),
        ({"translations": [{"language_code": "en-US"}]}, "translations[0]"),
        (
            {
                "translations": [
                    {
                        "language_code": "en-US",
                        "text_message": {"text": "a"},
                        "media_message": {"url": "https://x/y"},
                    }
                ]
            },
            "translations[0]",
        ),
        ({"translations": [{"text_message": {"text": "a"}}]}, "translations[0].language_code"),
        (
            {"translations": [{"language_code": "en-US", "text_message": {}}]},
            "translations[0].text_message.text",
        ),
        (
            {"translations": [{"language_code": "en-US", "choice_message": {"choices": []}}]},
            "translations[0].choice_message.choices",
        ),
        (
            {"translations": [{"language_code": "en-US", "template_message": {}}]},
            "translations[0].template_message",
        ),
        (
            {"translations": [{"language_code": "en-US", "text_message": {"text": "Hi ${who}"}}]},
            "translations[0].variables",
        ),
        (
            {
                "translations": [
                    {
                        "language_code": "en-US",
                        "text_message": {"text": "Hi"},
                        "variables": [{"key": "who"}],
                    }
                ]
            },
            "translations[0].variables",
        ),
        (
            {"translations": [v2_translation(), v2_translation("en_US")]},
            "translations[1].language_code",
        ),
        (
            {
                "translations": [
                    v2_translation(
                        channel_template_overrides={
                            "SMS": {"template_reference": {"template_id": "t"}}
                        }
                    )
                ]
            },
            "translations[0].channel_template_overrides.SMS",
        ),
        (
            {
                "translations": [
                    v2_translation(
                        channel_template_overrides={
                            "WHATSAPP": {"template_reference": {"language_code": "en"}}
                        }
                    )
                ]
            },
            "translations[0].channel_template_overrides.WHATSAPP.template_reference.template_id",
        ),
        (
            {
                "translations": [
                    v2_translation(
                        channel_template_overrides={
                            "WHATSAPP": {
                                "template_reference": {"template_id": "t"},
                                "parameter_mappings": {"body[1]text": "ghost"},
                            }
                        }
                    )
                ]
            },
            "translations[0].channel_template_overrides",
        ),
    ],
)
def test_v2_create_refuses_invalid_templates_naming_the_field(
    v2: httpx.Client, change: dict[str, Any], field: str
) -> None:
    assert_error(
        v2.post("/templates", json=v2_body(**change)), 400, "INVALID_ARGUMENT", field=field
    )


def test_v2_put_must_carry_the_current_version(v2: httpx.Client) -> None:
    body = v2_body()
    v2.post("/templates", json=body)
    update = {k: v for k, v in body.items() if k != "id"}
    for stale in (None, 0, 2):
        error = assert_error(
            v2.put(f"/templates/{body['id']}", json={**update, "version": stale}),
            400,
            "FAILED_PRECONDITION",
        )
        assert "version 1" in error["message"]
    first = v2.put(f"/templates/{body['id']}", json={**update, "version": 1})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    assert_error(
        v2.put(f"/templates/{body['id']}", json={**update, "version": 1}),
        400,
        "FAILED_PRECONDITION",
    )
    assert v2.put(f"/templates/{body['id']}", json={**update, "version": 2}).json()["version"] == 3
    assert_error(v2.put("/templates/nope", json={**update, "version": 1}), 404)


def test_v2_put_is_validated_like_create(v2: httpx.Client) -> None:
    body = v2_body()
    v2.post("/templates", json=body)
    assert_error(
        v2.put(
            f"/templates/{body['id']}",
            json={"version": 1, "default_translation": "de", "translations": [v2_translation()]},
        ),
        400,
        field="default_translation",
    )
    assert v2.get(f"/templates/{body['id']}").json()["version"] == 1


def test_v2_translation_versions_bump_only_when_changed(v2: httpx.Client) -> None:
    body = v2_body(
        translations=[v2_translation("en-US", "Hi ${name}"), v2_translation("sv-SE", "Hej ${name}")]
    )
    created = v2.post("/templates", json=body).json()
    en_v1, sv_v1 = created["translations"]
    updated = v2.put(
        f"/templates/{body['id']}",
        json={
            "version": 1,
            "default_translation": "en-US",
            "translations": [
                {**v2_translation("en-US", "Hello ${name}"), "version": "99"},
                v2_translation("sv-SE", "Hej ${name}"),
                v2_translation("de-DE", "Hallo ${name}"),
            ],
        },
    ).json()
    en, sv, de = updated["translations"]
    assert (en["version"], sv["version"], de["version"]) == ("2", "1", "1")
    assert en["text_message"] == {"text": "Hello ${name}"}
    assert sv == sv_v1  # unchanged: same version and times
    assert en["create_time"] > en_v1["create_time"]
    # a change of variables alone is a change
    again = v2.put(
        f"/templates/{body['id']}",
        json={
            "version": 2,
            "default_translation": "en-US",
            "translations": [
                {
                    **v2_translation("en-US", "Hello ${name}"),
                    "variables": [{"key": "name", "preview_value": "Bo"}],
                },
            ],
        },
    ).json()
    assert again["translations"][0]["version"] == "3"
    assert [t["language_code"] for t in again["translations"]] == ["en-US"]


def test_v2_translations_are_listed_by_language_and_version(v2: httpx.Client) -> None:
    body = v2_body(
        translations=[
            v2_translation("en-US", "One ${name}"),
            v2_translation("sv-SE", "Ett ${name}"),
        ]
    )
    template_id = body["id"]
    v2.post("/templates", json=body)
    v2.put(
        f"/templates/{template_id}",
        json={
            "version": 1,
            "default_translation": "en-US",
            "translations": [
                v2_translation("en-US", "Two ${name}"),
                v2_translation("sv-SE", "Ett ${name}"),
            ],
        },
    )
    v2.put(
        f"/templates/{template_id}",
        json={
            "version": 2,
            "default_translation": "en-US",
            "translations": [v2_translation("en-US", "Three ${name}")],
        },
    )

    def listed(**params: str) -> list[tuple[str, str, str]]:
        answer = v2.get(f"/templates/{template_id}/translations", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(
            (t["language_code"], t["version"], t["text_message"]["text"])
            for t in answer.json()["translations"]
        )

    assert listed() == [
        ("en-US", "1", "One ${name}"),
        ("en-US", "2", "Two ${name}"),
        ("en-US", "3", "Three ${name}"),
        ("sv-SE", "1", "Ett ${name}"),
    ]
    assert listed(language_code="en_US") == [
        ("en-US", "1", "One ${name}"),
        ("en-US", "2", "Two ${name}"),
        ("en-US", "3", "Three ${name}"),
    ]
    assert listed(translation_version="latest") == [
        ("en-US", "3", "Three ${name}"),
        ("sv-SE", "1", "Ett ${name}"),
    ]
    assert listed(translation_version="2") == [("en-US", "2", "Two ${name}")]
    assert listed(language_code="sv-SE", translation_version="latest") == [
        ("sv-SE", "1", "Ett ${name}")
    ]
    assert listed(language_code="de") == []
    # GET shows only the current translations, at their latest versions
    current = v2.get(f"/templates/{template_id}").json()["translations"]
    assert [(t["language_code"], t["version"]) for t in current] == [("en-US", "3")]
